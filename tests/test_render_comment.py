"""Comments composed of several views: plan + status in one, and a failed plan's comment."""

from __future__ import annotations

from reconciler.gates import Outcome, ResourceStatus, StatusResult
from reconciler.render.comment import (
    PLAN_SHARE,
    render_failed_plan_comment,
    render_plan_and_status,
)
from reconciler.render.markdown import MAX_CHARS, marker
from tests.test_comment_gfm import CI, a_busy_plan
from tests.test_render_markdown import resource


def a_status(resources: int) -> StatusResult:
    """A status with `resources` resources, none of which has a run yet."""
    return StatusResult(
        workspace="support-evals",
        resources=tuple(
            ResourceStatus(
                resource=resource(f"r-{n:05d}"), run=None, outcome=Outcome.ERROR, detail="no run"
            )
            for n in range(resources)
        ),
    )


class TestPlanAndStatus:
    def test_a_combined_comment_of_a_huge_plan_and_status_stays_within_githubs_limit(self):
        """Thousands of changes and of resources: still one comment GitHub accepts."""
        text = render_plan_and_status(a_busy_plan(creates=3000), a_status(3000), ci=CI)
        assert len(text) <= MAX_CHARS
        assert text.startswith(marker("support-evals") + "\n")
        assert 1 == text.count("<!-- reconciler:")
        assert "### reconciler status for `support-evals`" in text

    def test_the_plan_takes_at_most_its_share_and_leaves_the_rest_to_the_status(self):
        """The status part is never squeezed out by a long plan."""
        text = render_plan_and_status(a_busy_plan(creates=3000), a_status(3000))
        plan_part, status_part = text.split("### reconciler status for", 1)
        assert len(plan_part) <= PLAN_SHARE + 1
        assert len(status_part) > MAX_CHARS - PLAN_SHARE - 1000

    def test_a_small_plan_and_status_are_shown_whole(self):
        text = render_plan_and_status(a_busy_plan(), a_status(1))
        assert "new-002" in text
        assert "r-00000" in text
        assert "not shown" not in text


class TestFailedPlan:
    def test_the_configured_workspace_names_the_marker(self):
        text = render_failed_plan_comment(
            ["x.yaml:1: spec: bad."],
            workspace="support-evals",
            config_text=None,
            directory_name="elsewhere",
        )
        assert text.startswith(marker("support-evals") + "\n")
        assert "x.yaml:1: spec: bad." in text

    def test_a_config_that_no_longer_loads_still_replaces_its_workspaces_comment(self):
        """The `workspace:` line of a broken reconciler.yaml still names the marker."""
        text = render_failed_plan_comment(
            ["reconciler.yaml:3: safety: bad."],
            workspace=None,
            config_text="workspace: checkout-evals\nsafety: [\n",
            directory_name="elsewhere",
        )
        assert text.startswith(marker("checkout-evals") + "\n")

    def test_an_unreadable_config_falls_back_to_the_directorys_name(self):
        text = render_failed_plan_comment(
            ["boom"], workspace=None, config_text=None, directory_name="Support Evals"
        )
        assert text.startswith(marker("support-evals") + "\n")
