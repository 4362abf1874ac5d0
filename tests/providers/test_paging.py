"""What a listing may conclude from the order it sees (pure: no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler.providers.paging import NewestFirst

SINCE = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def minutes(*offsets: int) -> list[datetime]:
    return [SINCE + timedelta(minutes=m) for m in offsets]


def stops_after(created: list[datetime]) -> int | None:
    """Return how many items were read when the watch said stop, or None if never."""
    watch = NewestFirst(SINCE)
    for n, at in enumerate(created, start=1):
        watch.read(at)
        if watch.passed:
            return n
    return None


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (minutes(5, 3, 1, -1, -2), 4),
        (minutes(-30, -20, -10, 5), None),
        (minutes(-1, 5, 3), None),
        (minutes(5, -3, 7, -10), 2),
        (minutes(5, 6, -3, -4), None),
        (minutes(-5, -6, -7), None),
    ],
    ids=[
        "newest-first-stops-at-the-first-older-run",
        "oldest-first-reads-everything",
        "an-older-first-item-proves-nothing",
        "a-fall-past-the-moment-stops-before-the-order-is-broken",
        "a-rise-before-the-moment-means-unsorted",
        "only-older-runs-read-everything",
    ],
)
def test_a_look_up_stops_early_only_on_an_order_it_has_seen(created, expected):
    """Stopping needs created_at non-increasing so far and a run at or after the moment first."""
    assert expected == stops_after(created)


def test_a_run_seen_before_ends_a_refresh_only_after_a_fall_in_created_at():
    """`proven` needs one strict fall and no rise: a single item proves no order."""
    watch = NewestFirst(SINCE)
    watch.read(SINCE + timedelta(minutes=5))
    assert not watch.proven
    watch.read(SINCE + timedelta(minutes=4))
    assert watch.proven
    watch.read(SINCE + timedelta(minutes=6))
    assert not watch.proven
