"""One cursor loop for every vendor's list endpoint, and what a listing may conclude from order.

The three vendors page the same way (items, a "more" flag, a cursor) under different names.
Reading them through one loop gives every listing the same rules (rule 9: a listing that
cannot be read to its end fails, it is never taken as empty or complete):

- every item is a JSON object: a `null` or a string is not skipped, since a skipped item may
  be a declared run that would then be created twice;
- the "more" flag is a JSON boolean (`"false"` is a protocol error, not a truthy string);
- each next cursor is new: a cursor seen before would loop for ever;
- a page with no items that says there are more counts against `MAX_EMPTY_PAGES` in a row.

None of the vendors documents its list order, so nothing here assumes one: `NewestFirst`
lets a look-up stop early only on an order it has observed in the same listing.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from reconciler.errors import ListingError
from reconciler.providers.deadline import in_context
from reconciler.secret import scrub

MAX_EMPTY_PAGES = 3  # empty pages in a row that say "more" before the listing fails
MAX_PAGES = 100_000  # a backstop: each page must bring a new cursor anyway
AHEAD = 2  # pages a read-ahead walk may have read that its caller has not taken yet


@dataclass(frozen=True, slots=True, kw_only=True)
class PageShape:
    """Where a vendor's list page keeps its items, its "more" flag and its next cursor."""

    items: str  # the array of items, at the top of the page
    has_more: tuple[str, ...]  # path to the boolean, e.g. ("pagination", "hasMore")
    cursor: tuple[str, ...]  # path to the next cursor
    cursor_from_last_id: bool = False  # Bland: the last item's `id` when next_cursor is null

    @property
    def more_name(self) -> str:
        """Return the flag's name as the vendor's docs write it."""
        return ".".join(self.has_more)

    @property
    def cursor_name(self) -> str:
        """Return the cursor's name as the vendor's docs write it."""
        return ".".join(self.cursor)


def walk(
    fetch: Callable[[str | None], object],
    shape: PageShape,
    *,
    vendor: str,
    operation: str,
    read_ahead: bool = False,
) -> Iterator[Mapping[str, object]]:
    """Yield every item of a listing, page by page; raise ListingError if it cannot end well.

    `fetch(cursor)` returns one decoded page (`None` asks for the first). Items are yielded
    as each page arrives, so a caller may stop early; the checks above apply to every page
    read.

    `read_ahead`: walk the pages on another thread (in the caller's context) that asks for
    the next page as soon as it has this one, so what the caller does with the items
    (parsing runs) overlaps the wait for the next page instead of adding to the chain of
    pages read one after another. Only for a caller that reads every page: one that stops
    early may have asked for up to AHEAD pages it does not read. The same pages are asked
    for, and every error is raised where it would be without it.
    """
    chain = _chain(fetch, shape, vendor=vendor, operation=operation)
    if read_ahead:
        yield from _read_ahead(chain)
    else:
        for items in chain:
            yield from items


def _chain(
    fetch: Callable[[str | None], object], shape: PageShape, *, vendor: str, operation: str
) -> Iterator[list[Mapping[str, object]]]:
    """Yield each page's items, checked; then judge its cursor (its errors come after them)."""
    cursor: str | None = None
    seen: set[str] = set()
    empty = 0
    for _ in range(MAX_PAGES):
        page = fetch(cursor)
        items = _items(page, shape, vendor=vendor, operation=operation)
        yield items
        more = _at(page, shape.has_more)
        if not isinstance(more, bool):
            what = "missing or null" if more is None else describe(more)
            raise ListingError(
                f"a list page's `{shape.more_name}` is {what}, not a JSON boolean; the listing"
                " cannot tell whether it is complete",
                vendor=vendor,
                operation=operation,
            )
        if not more:
            return
        empty = empty + 1 if not items else 0
        if empty > MAX_EMPTY_PAGES:
            raise ListingError(
                f"{empty} pages in a row had no items yet said there are more; the listing"
                " makes no progress",
                vendor=vendor,
                operation=operation,
            )
        cursor = _next_cursor(page, items, shape)
        if cursor is None or cursor in seen:
            problem = "no next cursor" if cursor is None else "a cursor it sent before"
            raise ListingError(
                f"pagination ended early: `{shape.more_name}` is true but the page has {problem}",
                vendor=vendor,
                operation=operation,
            )
        seen.add(cursor)
    raise ListingError(f"more than {MAX_PAGES} pages", vendor=vendor, operation=operation)


def _read_ahead(chain: Iterator[list[Mapping[str, object]]]) -> Iterator[Mapping[str, object]]:
    """Walk `chain` on a thread of its own; hand each page's items to the caller.

    The thread asks for page k+1 as soon as it has read and checked page k: neither the
    caller's work on page k's items nor a hop through the caller's thread sits between two
    requests of the chain (a hop waits for the GIL while other vendors' runs are parsed). It
    runs at most AHEAD pages ahead of the caller and asks for nothing more once the caller
    stops. Every error is raised in the caller's thread after the items read before it, as
    the plain walk raises it.
    """
    handed: queue.Queue[list[Mapping[str, object]] | BaseException | None] = queue.Queue(AHEAD)
    stopped = threading.Event()

    def hand(value: list[Mapping[str, object]] | BaseException | None) -> bool:
        while not stopped.is_set():
            try:
                handed.put(value, timeout=0.05)  # woken at once by the caller's get()
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for items in chain:
                if not hand(items):  # the caller has stopped
                    return
            hand(None)
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            hand(error)

    thread = threading.Thread(target=in_context(produce), name="read-ahead", daemon=True)
    thread.start()
    try:
        while (got := handed.get()) is not None:
            if isinstance(got, BaseException):
                raise got
            yield from got
    finally:
        stopped.set()
        thread.join()


def _items(
    page: object, shape: PageShape, *, vendor: str, operation: str
) -> list[Mapping[str, object]]:
    items = page.get(shape.items) if isinstance(page, Mapping) else None
    if not isinstance(items, list):
        raise ListingError(
            f"a list page has no `{shape.items}` array", vendor=vendor, operation=operation
        )
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ListingError(
                f"item {number} of a list page is {describe(item)}, not an object; a skipped"
                " item could be a declared run, so the listing stops here",
                vendor=vendor,
                operation=operation,
            )
    return items


def _next_cursor(page: object, items: list[Mapping[str, object]], shape: PageShape) -> str | None:
    cursor = _at(page, shape.cursor)
    if cursor is None and shape.cursor_from_last_id and items:
        cursor = items[-1].get("id")
    return cursor if isinstance(cursor, str) and cursor else None


def _at(page: object, path: tuple[str, ...]) -> object:
    """Return the value at `path`, or None when any step is missing or not an object."""
    value = page
    for step in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def describe(value: object) -> str:
    """Name a JSON value briefly for a message: never its full text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"the string {scrub(value)!r}" if len(value) <= 20 else "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, Mapping) else type(value).__name__


class NewestFirst:
    """Tell a look-up for runs made since a moment when the listing has gone past it.

    No vendor documents its list order. A look-up may stop early only when the listing it
    is reading has shown itself newest first: `created_at` never increased from one item to
    the next on every page read so far, and an item at or after the moment came before the
    first item older than it. Otherwise (oldest first, unsorted, or only older items so
    far) it reads every page.
    """

    def __init__(self, since: datetime) -> None:
        self.since = since
        self._last: datetime | None = None
        self._ordered = True
        self._reached = False  # an item at or after `since` was read
        self._fell = False  # created_at strictly decreased at least once

    def read(self, created_at: datetime) -> None:
        """Note the next item's `created_at`, in list order."""
        if self._last is not None:
            if created_at > self._last:
                self._ordered = False
            elif created_at < self._last:
                self._fell = True
        self._last = created_at
        if created_at >= self.since:
            self._reached = True

    @property
    def passed(self) -> bool:
        """Say whether every later item is older than `since` (order observed, not assumed)."""
        return (
            self._ordered and self._reached and self._last is not None and self._last < self.since
        )

    @property
    def proven(self) -> bool:
        """Say whether the listing has shown a newest-first order so far (a fall, no rise)."""
        return self._ordered and self._fell


def required_strings(
    item: Mapping[str, object], names: tuple[str, ...], *, what: str
) -> dict[str, str] | str:
    """Return the named fields of a vendor object if each is a non-empty string.

    Otherwise return the problem to report, e.g. "the run's `id` is null, not a non-empty
    string": the caller wraps it in the error its operation raises.
    """
    texts: dict[str, str] = {}
    for name in names:
        value = item.get(name)
        if not isinstance(value, str) or not value:
            return f"the {what}'s `{name}` is {describe(value)}, not a non-empty string"
        texts[name] = value
    return texts
