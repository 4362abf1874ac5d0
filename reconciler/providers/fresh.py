"""Apply's fresh looks at the runs made since the plan, bounded and shared (docs/performance.md).

Around each create, apply looks for runs of the resource's identity made since the plan
(before: adopt one another apply made; after: settle a race with a twin). Asked one request
(or one task's whole history) per look, an apply of a thousand creates would read the
vendor a thousand times over. `FreshLooks` keeps one short-lived look per container (an
Arize task, an Adaline prompt and key) shared by every worker thread:

- a look younger than `ttl_s` is reused by the look before a create;
- the look after a create (race settlement) needs one begun after that create returned
  (`created()` notes the moment): the next look made for any worker serves every create
  that returned before it began, and a settlement never reads the vendor twice for one
  moment;
- one look per container at a time (a lock per container): workers that wait for it take
  its result instead of reading again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

FRESH_LOOK_S = 2.0  # how long a look at the runs made since the plan is reused

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Look(Generic[V]):
    since: datetime
    began: float
    done: float
    value: V


class FreshLooks(Generic[K, V]):
    """One short cache of `read(container, since)` per container, shared by threads."""

    def __init__(
        self,
        read: Callable[[K, datetime], V],
        *,
        ttl_s: float = FRESH_LOOK_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._locks: dict[K, threading.Lock] = {}
        self._looks: dict[K, _Look[V]] = {}
        self._created: dict[Hashable, float] = {}

    def created(self, identity: Hashable) -> None:
        """Note that a create of `identity` returned now: its next look must begin later."""
        with self._lock:
            self._created[identity] = self._clock()

    def look(self, container: K, since: datetime, *, identity: Hashable = None) -> V:
        """Return a look at `container` since `since`: reused when fresh enough, else read."""
        with self._lock:
            lock = self._locks.setdefault(container, threading.Lock())
            after = self._created.get(identity) if identity is not None else None
        with lock:
            cached = self._looks.get(container)
            now = self._clock()
            if (
                cached is not None
                and cached.since == since
                and now - cached.done < self._ttl_s
                and (after is None or cached.began >= after)
            ):
                return cached.value
            began = self._clock()
            value = self._read(container, since)
            self._looks[container] = _Look(since, began, self._clock(), value)
            return value
