"""The test clock the emulator ages runs by (`make_server(clock=...)`)."""

from __future__ import annotations

DEFAULT_START = 1_795_000_000.0  # 2026-11-18, after every vendor's documented minimum time


class Clock:
    """Epoch seconds that move only when a test moves them."""

    def __init__(self, now: float = DEFAULT_START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
