"""Fixtures that start real things: the emulator on loopback, a clean environment."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from hypothesis import settings

from reconciler import emulator
from tests.clock import Clock

# No timing deadline (CI machines are slow and shared); CI replays the same examples.
settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

VENDOR_ENV_PREFIXES = ("RECONCILER_", "BLAND_", "ADALINE_", "ARIZE_")
PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove reconciler, vendor and proxy variables so no test sees the developer's keys."""
    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith(VENDOR_ENV_PREFIXES) or upper in PROXY_ENV:
            monkeypatch.delenv(name, raising=False)


EmulatorFactory = Callable[..., str]


@pytest.fixture
def start_emulator() -> Iterator[EmulatorFactory]:
    """Start emulators on port 0 with the given options; return their base URLs."""
    with ExitStack() as stack:

        def start(**options: object) -> str:
            return stack.enter_context(emulator.serve_in_thread(**options))  # type: ignore[arg-type]

        yield start


@pytest.fixture
def emulator_url(start_emulator: EmulatorFactory) -> str:
    """Return the base URL of a fresh emulator (seed 7, realistic time) for one test."""
    return start_emulator(seed=7)


@pytest.fixture
def clock() -> Clock:
    """Return a test clock for `start_emulator(clock=clock)`: it moves on advance()."""
    return Clock()
