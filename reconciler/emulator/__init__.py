"""A local HTTP server that behaves like the vendors' eval-run APIs (see docs/emulator.md).

Written from `shared/providers/*.md` alone: it imports nothing else from reconciler, so a
misunderstanding in `reconciler/providers/` is not copied into the vendor it is tested against.
One package per vendor (`bland/`, `adaline/`, `arize/`), listed in `registry.py`; the server
builds one route table from them and serves all three APIs from its root URL.
"""

from reconciler.emulator.server import EmulatorServer, Faults, make_server, run
from reconciler.emulator.threaded import serve_in_thread

__all__ = ["EmulatorServer", "Faults", "make_server", "run", "serve_in_thread"]
