"""Secrets as a type, so that no repr, log line, plan file or traceback can show one.

Besides the `Secret` type, the process keeps one set of every value it must never show
(each API key, each value read from `${ENV}`), and `scrub()` removes them from any text that
crosses a boundary: a vendor's error body, a log record, an exception's message.
"""

from __future__ import annotations

import json
import logging
import re
import threading

MASK = "***"
MIN_SCRUB_LENGTH = 4  # shorter values ("1", "eu") would mangle every message they occur in

_lock = threading.Lock()
_known: set[str] = set()
_pattern: re.Pattern[str] | None = None


def remember(value: str) -> None:
    """Add `value` (an API key, a value from `${ENV}`) to what `scrub()` removes."""
    global _pattern
    candidates = {value, value.strip()}
    # The forms a message may quote it in: a repr (httpx's "Illegal header value b'...'"),
    # a JSON string (a vendor echoing the header in its body), and their stripped forms.
    for base in (value, value.strip()):
        candidates.add(repr(base)[1:-1])
        candidates.add(repr(base.encode("utf-8", "backslashreplace"))[2:-1])
        candidates.add(json.dumps(base)[1:-1])
        candidates.add(json.dumps(base, ensure_ascii=False)[1:-1])
    with _lock:
        added = False
        for candidate in candidates:
            if len(candidate) >= MIN_SCRUB_LENGTH and candidate not in _known:
                _known.add(candidate)
                added = True
        if added:
            # Longest first, so a value that contains another is masked whole.
            ordered = sorted(_known, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(v) for v in ordered))


def scrub(text: str) -> str:
    """Return `text` with every remembered secret replaced by `***`."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


class ScrubFilter(logging.Filter):
    """Scrub every record a handler emits: its message, arguments, traceback and stack.

    Installed on reconciler's log handlers, so no log line (a vendor's words, httpx's own
    exception text under `--debug`) can show a remembered secret.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class Secret:
    """A value (an API key) that prints as `***` everywhere.

    Only the code that builds an auth header calls `reveal()`. Every Secret is remembered,
    so `scrub()` removes it from any text, a vendor's echo of the header included.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        remember(value)

    def reveal(self) -> str:
        """Return the real value; call it only to build an auth header."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)
