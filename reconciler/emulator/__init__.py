"""A local HTTP server that behaves like the vendors' eval-run APIs (see docs/emulator.md).

Written from `shared/providers/*.md` alone: it imports nothing else from reconciler, so a
misunderstanding in `reconciler/providers/` is not copied into the vendor it is tested against.
"""

from reconciler.emulator.server import EmulatorServer, Faults, make_server, run

__all__ = ["EmulatorServer", "Faults", "make_server", "run"]
