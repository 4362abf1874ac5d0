"""Log lines in logfmt (`key=value key="a value"`): one line per operation, parseable."""

from __future__ import annotations

import re
from collections.abc import Iterable


def logfmt(fields: Iterable[tuple[str, str | None]]) -> str:
    r"""Format `key=value` pairs as logfmt; pairs whose value is None are left out.

    A value is quoted when it is empty or holds a space, `=`, `"`, `\` or a control
    character; inside the quotes `\` and `"` are escaped with `\`, and newlines, tabs and
    other control characters are written as escapes (`\n`, `\t`, `\u001b`), so a vendor's
    message can never start a log line of its own.
    """
    parts: list[str] = []
    for key, value in fields:
        if value is None:
            continue
        if value and not _NEEDS_QUOTES.search(value):
            parts.append(f"{key}={value}")
        else:
            parts.append(f'{key}="{_ESCAPES.sub(_escape, value)}"')
    return " ".join(parts)


_NEEDS_QUOTES = re.compile(r'[\s="\\\x00-\x1f\x7f]')
_ESCAPES = re.compile(r'["\\\x00-\x1f\x7f]')
_NAMED_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED_ESCAPES.get(char) or f"\\u{ord(char):04x}"
