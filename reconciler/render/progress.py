"""The progress lines of a wait (`status`, `apply --wait`): pure arithmetic, text out.

The command line owns the stream and the terminal test; this module only says what to show.
"""

from __future__ import annotations

from reconciler.gates import Outcome, StatusResult

CLEAR_TO_END = "\033[K"


def progress_line(result: StatusResult) -> str:
    """Return how far the current runs are: runs finished and items scored, without the time.

    Runs, not resources: a resource with no run yet has nothing to wait for. A vendor that
    gives no total up front (Arize) counts the items it has scored as the total so far.
    """
    runs = [s for s in result.resources if s.run is not None]
    done = sum(1 for s in runs if s.outcome is not Outcome.RUNNING)
    items_done = items_total = 0
    for status in runs:
        if status.run is not None:
            got, total = status.run.metrics.items_done, status.run.metrics.items_total
            items_done += got
            items_total += total if total is not None else got
    return f"status: {done}/{len(runs)} run(s) finished, {items_done}/{items_total} item(s) scored"


def progress_frame(result: StatusResult, *, last: str, live: bool) -> tuple[str, str | None]:
    """Return (the new line, the text to write or None when a log would repeat itself).

    On a terminal (`live`) one line is redrawn in place every poll, its time ticking; in a
    log a line is written only when the progress changed, so CI logs stay short.
    """
    line = progress_line(result)
    elapsed = f"({result.elapsed_s:.0f} s)"
    if live:
        return line, f"\r{line} {elapsed}{CLEAR_TO_END}"
    if line != last:
        return line, f"{line} {elapsed}\n"
    return line, None
