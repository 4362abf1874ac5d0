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

from reconciler import emulator
from reconciler.providers.bland import LIST_PAGE
from reconciler.providers.paging import walk

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
