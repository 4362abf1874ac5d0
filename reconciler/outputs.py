"""Output files (`plan -out`, `status -o`): checked before the work, written whole or not at all.

A file is written to a temporary file in the same directory and renamed over the target, so
a failure (a full disk, a killed job) never leaves half a plan file for a later apply to read.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from reconciler.errors import ConfigError

NEW_FILE_MODE = 0o644  # plan files and reports hold no secret; mkstemp's 0600 would surprise


def check_writable(path: Path) -> None:
    """Raise ConfigError, naming the path and the fix, unless a file can be written at `path`."""
    parent = path.parent
    try:
        if path.is_dir():
            raise ConfigError(f"{path}: is a directory. Name a file, e.g. {path / 'plan.json'}")
        if not parent.exists():
            raise ConfigError(
                f"{path}: directory {parent} does not exist. "
                f"Create it first (mkdir -p {parent}) or write the file elsewhere"
            )
        if not parent.is_dir():
            raise ConfigError(
                f"{path}: {parent} is a file, not a directory. Write the file elsewhere"
            )
    except OSError as exc:  # e.g. a parent the user may not search
        raise ConfigError(
            f"{path}: cannot reach its directory ({exc.strerror}). Write the file elsewhere"
        ) from exc
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{path}: cannot write in directory {parent} (permission denied). "
            "Write the file elsewhere, or make the directory writable"
        )


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file and a rename; raise ConfigError on failure."""
    check_writable(path)
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else NEW_FILE_MODE
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot write the file ({exc.strerror}). Write the file elsewhere"
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ConfigError(
            f"{path}: cannot write the file ({exc.strerror}); nothing was written there. "
            "Free some space or write the file elsewhere"
        ) from exc
