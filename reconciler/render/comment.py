"""Pull-request comments composed of several views, within GitHub's size limit.

`render/markdown.py` draws a plan and `render/status.py` a status; this module puts them
together: the combined plan + status comment (`status --plan --format markdown`) and the
comment of a plan that failed. Pure: the caller passes the CI run and scrubs secrets.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.gates import StatusResult
from reconciler.model import Plan
from reconciler.render.markdown import (
    MAX_CHARS,
    CiRun,
    fallback_workspace,
    render_failed_plan,
    render_markdown,
)
from reconciler.render.status import render_status_markdown

PLAN_SHARE = 40_000  # of a combined comment's 65,536 characters, what the plan may use


def render_plan_and_status(
    plan: Plan, result: StatusResult, *, ci: CiRun | None = None, limit: int = MAX_CHARS
) -> str:
    """Render one comment: the plan (at most PLAN_SHARE characters), then the status.

    The status gets what the plan left, so the whole never passes `limit`; only the plan's
    part carries the marker and the CI line, as the comment is one.
    """
    head = render_markdown(plan, limit=min(PLAN_SHARE, limit), ci=ci)
    tail = render_status_markdown(result, limit=limit - len(head) - 2, with_marker=False)
    return head + "\n" + tail


def render_failed_plan_comment(
    errors: Sequence[str],
    *,
    workspace: str | None,
    config_text: str | None,
    directory_name: str,
    ci: CiRun | None = None,
) -> str:
    """Render the comment of a failed plan under the workspace's marker.

    `workspace` is the configured one when reconciler.yaml still loads; otherwise the
    marker's workspace is guessed from the file's text or its directory's name, so the
    failure still replaces the comment of the last plan that worked.
    """
    if workspace is None:
        workspace = fallback_workspace(config_text, directory_name=directory_name)
    return render_failed_plan(workspace, errors, ci=ci)
