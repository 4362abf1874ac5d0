"""Run an emulator in a background thread for as long as a `with` block lasts.

The one way tests, benchmarks and the CLI's embedded emulator start one (as httpx's
`tests/conftest.py` does): bind on a free port, serve, yield the base URL, then stop the loop,
close the socket and the database, and join the thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from reconciler.emulator.base import Vendor
from reconciler.emulator.registry import VENDORS
from reconciler.emulator.server import EmulatorServer, Faults, make_server


@contextmanager
def serve_in_thread(
    server: EmulatorServer | None = None,
    *,
    poll_interval: float = 0.01,
    seed: int = 0,
    time_scale: float = 1.0,
    state_path: Path | str | None = None,
    clock: Callable[[], float] = time.time,
    faults: Faults | None = None,
    list_order: str = "newest",
    omit_dataset_id: bool = False,
    vendors: Mapping[str, Vendor] = VENDORS,
) -> Iterator[str]:
    """Serve `server` (or a new one on 127.0.0.1, port 0, with the options) and yield its URL.

    `poll_interval` is how long shutdown() may wait for the loop to notice: short, because
    every test and every command with an embedded emulator pays it once.
    """
    if server is None:
        server = make_server(
            "127.0.0.1",
            0,
            seed=seed,
            time_scale=time_scale,
            state_path=state_path,
            clock=clock,
            faults=faults,
            list_order=list_order,
            omit_dataset_id=omit_dataset_id,
            vendors=vendors,
        )
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": poll_interval},
        name="emulator",
        daemon=True,
    )
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
