"""The progress of a wait, as `status` and `apply --wait` show it on stderr."""

from __future__ import annotations

import dataclasses

from reconciler.gates import StatusResult
from reconciler.render.progress import progress_frame, progress_line
from reconciler.status import judge
from tests.test_status import COMPLETE, resource, run

HALF_DONE = dict(COMPLETE, completed_atom_count=50)


def waiting(elapsed_s: float = 12.0) -> StatusResult:
    """Three resources: one finished (150/150), one running (50/150), one with no run yet."""
    done, going, never = resource("done"), resource("going"), resource("never")
    live = [run(done, "r1", "COMPLETE", COMPLETE), run(going, "r2", "RUNNING", HALF_DONE)]
    result = judge([done, going, never], live, workspace="ws")
    return dataclasses.replace(result, elapsed_s=elapsed_s)


class TestProgressLine:
    def test_progress_counts_runs_and_scored_items_not_resources_without_a_run(self):
        """A resource with no run yet has nothing to wait for: 1 of 2 runs, 200 of 300 items."""
        assert "status: 1/2 run(s) finished, 200/300 item(s) scored" == progress_line(waiting())

    def test_nothing_to_wait_for_reads_zero_of_zero(self):
        assert "status: 0/0 run(s) finished, 0/0 item(s) scored" == progress_line(
            StatusResult(workspace="ws", resources=())
        )


class TestProgressFrame:
    def test_a_log_gets_a_line_with_its_time_when_the_progress_changes(self):
        line, text = progress_frame(waiting(), last="", live=False)
        assert "status: 1/2 run(s) finished, 200/300 item(s) scored (12 s)\n" == text
        assert progress_line(waiting()) == line

    def test_a_log_gets_no_line_when_only_the_time_moved_on(self):
        """CI logs stay short: the same progress a poll later writes nothing."""
        last = progress_line(waiting())
        assert (last, None) == progress_frame(waiting(elapsed_s=40), last=last, live=False)

    def test_a_terminal_redraws_one_line_in_place_every_poll(self):
        """On a TTY the line is rewritten (carriage return, clear to end), its time ticking."""
        last = progress_line(waiting())
        _, text = progress_frame(waiting(elapsed_s=40), last=last, live=True)
        assert f"\r{last} (40 s)\033[K" == text
