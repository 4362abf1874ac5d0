"""The CI around a command: the commit and run a comment names, and posting that comment.

GitHub Actions and GitLab say who they are through environment variables and, on GitHub, an
event file; this module is the one place that reads them for the pull-request comment.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.errors import ConfigError

if TYPE_CHECKING:
    from reconciler.render.markdown import CiRun


def ci_run(environ: Mapping[str, str]) -> CiRun | None:
    """Return the commit and CI run a comment's header names (GitHub's or GitLab's variables)."""
    from reconciler.render.markdown import CiRun

    event: object = None
    event_path = environ.get("GITHUB_EVENT_PATH")
    if event_path:
        try:
            event = json.loads(Path(event_path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            event = None  # the header then names GITHUB_SHA; `comment` reports a bad file
    return CiRun.from_environ(environ, event=event if isinstance(event, dict) else None)


def post_comment(
    *,
    body_file: Path | None,
    stdin: Callable[[], str] | None,
    repo: str | None,
    pr_number: int | None,
    environ: Mapping[str, str],
) -> tuple[str, str]:
    """Create or update the workspace's one comment; return (verb, its URL).

    The comment comes from `body_file`, else from `stdin` (None: stdin is a terminal).
    """
    from reconciler.github import REPO_RE, GitHub, PullRequest, first_line_marker

    repo = repo or environ.get("GITHUB_REPOSITORY") or ""
    if not REPO_RE.match(repo):
        raise ConfigError(
            f"--repo {repo!r} is not OWNER/REPO: pass --repo or set GITHUB_REPOSITORY"
            if repo
            else "no repository: pass --repo OWNER/REPO or set GITHUB_REPOSITORY"
        )
    number = pr_number or _event_pr_number(environ)
    if number is None:
        raise ConfigError(
            "no pull request number: pass --pr N or run on a pull_request event (GITHUB_EVENT_PATH)"
        )
    body = _read_comment(body_file, stdin=stdin)
    if first_line_marker(body) is None:
        raise ConfigError(
            "the comment's first line is not a reconciler marker (<!-- reconciler:WORKSPACE -->): "
            "pass the output of `reconciler plan --format markdown` "
            "(or `status --format markdown`)"
        )
    with GitHub.from_env(environ) as github:
        posted, verb = github.upsert_comment(PullRequest(repo, number), body)
    return verb, posted.html_url


def _read_comment(path: Path | None, *, stdin: Callable[[], str] | None) -> str:
    if path is None:
        if stdin is None:
            raise ConfigError("no comment: pass --file FILE or pipe `plan --format markdown`")
        return stdin()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(
            f"{path}: cannot read the comment ({reason}). "
            "Pass the file `reconciler plan --format markdown` wrote"
        ) from exc


def _event_pr_number(environ: Mapping[str, str]) -> int | None:
    """Return the pull request's number from the GitHub Actions event file, if there is one."""
    event_path = environ.get("GITHUB_EVENT_PATH")
    if not event_path:
        return None
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read GITHUB_EVENT_PATH {event_path}: {exc}") from exc
    for key in ("pull_request", "issue"):
        part = event.get(key) if isinstance(event, dict) else None
        number = part.get("number") if isinstance(part, dict) else None
        if isinstance(number, int) and not isinstance(number, bool):
            return number
    return None
