"""The emulator inside reconciler: embedded (`base_url: emulator`) or `reconciler emulator`.

The session starts it (once per command) through `embedded_emulator`; the `emulator` command
serves it in the foreground. These are the only places outside the tests that start it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from reconciler.errors import ConfigError

EMULATOR = "emulator"
EMULATOR_DEMO_KEY = "emulator-demo-key"
# The embedded emulator's seed: under it the first runs a new state gets (the examples') all
# finish well, so the quickstart's second apply has nothing to do; later runs fail at the
# emulator's usual rates. See docs/decisions.md.
EMBEDDED_SEED = 3
# The embedded emulator's default speed: the vendors' own (runs take minutes), so the tour's
# replace and cancel meet active runs at a human's pace. See docs/decisions.md.
EMBEDDED_TIME_SCALE = "1"
STATE_DIR = ".reconciler"


@contextmanager
def embedded_emulator(root: Path, environ: Mapping[str, str]) -> Iterator[str]:
    """Serve the emulator in this process over loopback, its state under `.reconciler/`."""
    from reconciler import emulator

    state_dir = root / STATE_DIR
    state_path = state_dir / "emulator.sqlite3"
    try:
        state_dir.mkdir(exist_ok=True)
        writable = os.access(state_dir, os.W_OK | os.X_OK) and (
            not state_path.exists() or os.access(state_path, os.R_OK | os.W_OK)
        )
    except OSError as exc:
        raise ConfigError(
            f"{state_dir}: cannot create the embedded emulator's state directory "
            f"({exc.strerror}). Make {root} writable, or remove the file in the way"
        ) from exc
    if not writable:  # sqlite would fail later, inside a request, as a vendor error
        raise ConfigError(
            f"{state_dir}: the embedded emulator cannot write its state there (permission "
            "denied). Make it writable, or run from a writable copy of the project"
        )
    try:
        time_scale = float(environ.get("RECONCILER_EMULATOR_TIME_SCALE", EMBEDDED_TIME_SCALE))
    except ValueError as exc:
        raise ConfigError("RECONCILER_EMULATOR_TIME_SCALE must be a number, e.g. 60") from exc
    # A short poll interval: shutdown() waits up to one interval, and every command pays it.
    with emulator.serve_in_thread(
        seed=EMBEDDED_SEED, time_scale=time_scale, state_path=state_path, poll_interval=0.05
    ) as url:
        yield url


def serve_emulator(
    *,
    host: str,
    port: int,
    state: Path | None,
    seed: int,
    time_scale: float,
    list_order: str,
    omit_dataset_id: bool,
    faults: Mapping[str, float | None],
    on_ready: Callable[[str], None],
) -> None:
    """Serve the emulator in the foreground (`reconciler emulator`) until interrupted.

    `faults` holds `emulator.Faults`' fields by name; `on_ready` gets the URL once bound.
    """
    from reconciler import emulator

    try:
        server = emulator.make_server(
            host,
            port,
            seed=seed,
            time_scale=time_scale,
            state_path=state,
            faults=emulator.Faults(**faults),  # type: ignore[arg-type]
            list_order=list_order,
            omit_dataset_id=omit_dataset_id,
        )
    except OSError as exc:
        raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror}") from exc
    bound_host, bound_port = server.server_address[:2]
    on_ready(f"http://{bound_host!s}:{bound_port}")
    try:
        server.serve_forever()
    finally:
        server.server_close()
