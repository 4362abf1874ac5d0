"""A full listing asks for its next page while the caller works on this one (paging.walk).

Pages of one listing must be read one after another (each needs the cursor the previous one
returned), so at a vendor's latency the caller's work on a page (parsing its runs) used to add
to every step of that chain. With `read_ahead` the request for page k+1 is on the wire before
page k's items reach the caller: a 100-page Bland listing then takes about 100 round trips,
not 100 round trips plus 100 parses.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from reconciler import emulator
from reconciler.errors import ListingError
from reconciler.providers.bland import LIST_PAGE
from reconciler.providers.paging import AHEAD, walk

KEY = "test-key-0b7d"
RUNS = 500  # five pages of 100
WORK_S = 0.06  # what the caller does with each page (more than a round trip here)


def test_the_next_page_is_asked_for_while_the_caller_works_on_this_one(start_emulator):
    """Each page's request leaves before the caller is done with the page before it.

    The same pages are read (one request each, no page beyond the last), the same items in
    the same order, and the whole listing takes about pages x max(round trip, work) rather
    than pages x (round trip + work).
    """
    server = emulator.make_server("127.0.0.1", 0, seed=3, faults=emulator.Faults(latency_ms=40))
    server.bland.seed_runs(KEY, RUNS)
    url = start_emulator(server=server)
    sent: list[float] = []
    lock = threading.Lock()
    with httpx.Client(base_url=url, headers={"authorization": KEY}) as client:

        def fetch(cursor: str | None) -> object:
            params: dict[str, str | int] = {"limit": 100}
            if cursor is not None:
                params["starting_after"] = cursor
            with lock:
                sent.append(time.monotonic())
            return client.get("/v1/evals/runs", params=params).json()["data"]

        expected = [item["id"] for item in walk(fetch, LIST_PAGE, vendor="bland", operation="x")]
        sent.clear()
        done: list[float] = []
        ids: list[object] = []
        began = time.monotonic()
        for item in walk(fetch, LIST_PAGE, vendor="bland", operation="list", read_ahead=True):
            ids.append(item["id"])
            if len(ids) % 100 == 0:  # the caller's work on a page it has read whole
                time.sleep(WORK_S)
                done.append(time.monotonic())
        took = time.monotonic() - began

    assert expected == ids
    assert RUNS // 100 == len(sent) == len(done)
    for page in range(len(done) - 1):
        assert sent[page + 1] < done[page], f"page {page + 2} was asked for after page {page + 1}"
    serial = len(done) * (0.04 + WORK_S)
    assert took < serial - 0.1, f"{took:.2f} s, about what reading one page at a time takes"


def pages_of(count: int, *, broken_flag_on: int | None = None) -> list[dict[str, object]]:
    """`count` Bland list pages of two items each, chained by the last item's id."""
    out: list[dict[str, object]] = []
    for number in range(1, count + 1):
        more: object = number < count
        if number == broken_flag_on:
            more = "false"
        out.append({"data": [{"id": f"r{number}a"}, {"id": f"r{number}b"}], "has_more": more})
    return out


def fetcher(pages: list[dict[str, object]], asked: list[str | None], *, fail_on: int = 0):
    def fetch(cursor: str | None) -> object:
        asked.append(cursor)
        if len(asked) == fail_on:
            raise RuntimeError(f"page {fail_on} could not be read")
        return pages[len(asked) - 1]

    return fetch


def test_a_page_that_cannot_be_read_fails_after_the_items_before_it_and_nothing_follows():
    asked: list[str | None] = []
    fetch = fetcher(pages_of(6), asked, fail_on=3)
    got: list[object] = []
    listing = walk(fetch, LIST_PAGE, vendor="bland", operation="list", read_ahead=True)
    with pytest.raises(RuntimeError, match="page 3 could not be read"):
        got.extend(item["id"] for item in listing)
    assert got == ["r1a", "r1b", "r2a", "r2b"]
    assert asked == [None, "r1b", "r2b"]


def test_a_broken_more_flag_is_raised_after_that_pages_items():
    asked: list[str | None] = []
    got: list[object] = []
    fetch = fetcher(pages_of(5, broken_flag_on=2), asked)
    listing = walk(fetch, LIST_PAGE, vendor="bland", operation="list", read_ahead=True)
    with pytest.raises(ListingError, match="not a JSON boolean"):
        got.extend(item["id"] for item in listing)
    assert got == ["r1a", "r1b", "r2a", "r2b"]
    assert len(asked) == 2


def test_a_caller_that_stops_early_stops_the_thread_a_few_pages_ahead_at_most():
    asked: list[str | None] = []
    listing = walk(
        fetcher(pages_of(50), asked), LIST_PAGE, vendor="bland", operation="list", read_ahead=True
    )
    assert next(listing)["id"] == "r1a"
    time.sleep(0.2)  # the thread reads ahead while the caller holds page 1
    listing.close()
    assert 2 <= len(asked) <= 1 + AHEAD + 1
    assert not [t for t in threading.enumerate() if t.name == "read-ahead"]
