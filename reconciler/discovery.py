"""Manifest globs to files, where every path the walk cannot read is a problem, never a skip.

Python's `glob` skips what it cannot read: a directory without permission, a dangling
symlink, a symlink loop. For reconciler a skipped manifest is a resource that vanished, and
its runs would be planned as `- cancel`. So the walk is done here, with `os.scandir`, and
each such path is reported (rule 9 of the design, for files): a dangling symlink (a git
submodule that was not checked out), a symlink loop, a FIFO, socket or device, a directory
that cannot be listed, and a file that cannot be read or is not UTF-8.

The globs mean what `glob.glob(pattern, recursive=True)` means: `*`, `?` and `[...]` within one
path segment, `**` for any number of directories, and names that start with `.` are matched
only by a pattern segment that starts with `.` too. A directory that a pattern's last segment
matches is not a manifest and is passed over.
"""

from __future__ import annotations

import errno
import fnmatch
import glob
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import Problem

MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # a manifest is a few kilobytes; this is no manifest
NARROW = "or narrow `manifests:` in reconciler.yaml"


@dataclass(frozen=True, slots=True, kw_only=True)
class Found:
    """A manifest file: the path the glob reached, and how to show it."""

    path: Path
    display: str


def find_files(
    root: Path, patterns: tuple[str, ...], *, skip: Path
) -> tuple[list[Found], list[Problem]]:
    """Return the regular files `patterns` match under `root` (not `skip`), and the problems.

    A path is named once even when several patterns (or a symlink and its target) reach it.
    """
    walker = _Walker(root)
    for pattern in patterns:
        walker.walk(pattern)
    found: dict[tuple[int, int], Found] = {}
    skip_id = _file_id(skip)
    for path in sorted(walker.files):
        info = walker.files[path]
        key = (info.st_dev, info.st_ino)
        if key != skip_id:
            found.setdefault(key, Found(path=path, display=_display(path, root)))
    return sorted(found.values(), key=lambda f: f.display), sorted(set(walker.problems))


def read_text(path: Path, display: str) -> tuple[str | None, Problem | None]:
    """Read a manifest or reconciler.yaml as UTF-8: (text, None) or (None, the problem)."""
    try:
        info = os.stat(path)
    except OSError as error:
        return None, _stat_problem(path, display, error)
    if not stat.S_ISREG(info.st_mode):
        return None, _not_regular(display, info.st_mode)
    if info.st_size > MAX_MANIFEST_BYTES:
        return None, Problem(
            path=display,
            line=0,
            message=f"is {info.st_size:,} bytes, more than a manifest may hold "
            f"({MAX_MANIFEST_BYTES:,})",
            fix=f"Split it into smaller files, {NARROW}",
        )
    try:
        data = path.read_bytes()
    except OSError as error:
        return None, Problem(
            path=display,
            line=0,
            message=f"cannot read it: {_reason(error)}",
            fix=f"Make it readable by the user running reconciler, {NARROW}",
        )
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return None, Problem(
            path=display,
            line=line,
            message=f"is not UTF-8 text (byte 0x{data[error.start]:02x})",
            fix="Save it as UTF-8",
        )


class _Walker:
    """One walk over the tree for every pattern, remembering what it found and could not read."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[Path, os.stat_result] = {}
        self.problems: list[Problem] = []
        self._listed: dict[Path, list[os.DirEntry[str]] | None] = {}

    def walk(self, pattern: str) -> None:
        parts = [p for p in pattern.split("/") if p not in ("", ".")]
        start = Path("/") if pattern.startswith("/") else self.root
        if parts:
            self._match(start, parts, visiting=frozenset())

    def _match(
        self, directory: Path, parts: list[str], *, visiting: frozenset[tuple[int, int]]
    ) -> None:
        head, rest = parts[0], parts[1:]
        if head == "**":
            # zero directories, then every directory below (hidden ones only if named);
            # a directory met again on the way down is a symlink loop, not more manifests
            info = self._stat(directory, quiet_missing=True)
            if info is not None:
                visiting = visiting | {(info.st_dev, info.st_ino)}
            if rest:
                self._match(directory, rest, visiting=visiting)
            else:
                self._each_entry(directory, "*", rest, visiting)
            for entry in self._entries(directory) or []:
                if entry.name.startswith("."):
                    continue
                path = directory / entry.name
                info = self._stat(path)
                if info is None or not stat.S_ISDIR(info.st_mode):
                    continue
                here = (info.st_dev, info.st_ino)
                if here in visiting:
                    self._problem(
                        path,
                        "leads back to a directory above it (a symlink loop)",
                        f"Remove the link, {NARROW}",
                    )
                    continue
                self._match(path, parts, visiting=visiting | {here})
            return
        if not glob.has_magic(head):
            path = directory / head
            if rest:
                info = self._stat(path, quiet_missing=True)
                if info is not None and stat.S_ISDIR(info.st_mode):
                    self._match(path, rest, visiting=visiting)
            else:
                self._leaf(path, quiet_missing=True)
            return
        self._each_entry(directory, head, rest, visiting)

    def _each_entry(
        self,
        directory: Path,
        segment: str,
        rest: list[str],
        visiting: frozenset[tuple[int, int]],
    ) -> None:
        for entry in self._entries(directory) or []:
            if entry.name.startswith(".") and not segment.startswith("."):
                continue
            if not fnmatch.fnmatchcase(entry.name, segment):
                continue
            path = directory / entry.name
            if not rest:
                self._leaf(path, quiet_missing=False)
                continue
            info = self._stat(path)
            if info is not None and stat.S_ISDIR(info.st_mode):
                self._match(path, rest, visiting=visiting)

    def _entries(self, directory: Path) -> list[os.DirEntry[str]] | None:
        if directory not in self._listed:
            try:
                with os.scandir(directory) as entries:
                    self._listed[directory] = sorted(entries, key=lambda e: e.name)
            except OSError as error:
                self._listed[directory] = None
                if error.errno not in (errno.ENOENT, errno.ENOTDIR):
                    self._problem(
                        directory,
                        f"cannot list this directory: {_reason(error)}; the manifests in it "
                        "would be read as deleted",
                        f"Give the user running reconciler read and search permission on it, "
                        f"{NARROW}",
                    )
        return self._listed[directory]

    def _stat(self, path: Path, *, quiet_missing: bool = False) -> os.stat_result | None:
        """Stat `path` through symlinks; a link that leads nowhere is a problem."""
        try:
            return os.stat(path)
        except OSError as error:
            if quiet_missing and error.errno == errno.ENOENT and not os.path.islink(path):
                return None
            problem = _stat_problem(path, _display(path, self.root), error)
            self.problems.append(problem)
            return None

    def _leaf(self, path: Path, *, quiet_missing: bool) -> None:
        info = self._stat(path, quiet_missing=quiet_missing)
        if info is None or stat.S_ISDIR(info.st_mode):
            return
        if not stat.S_ISREG(info.st_mode):
            self.problems.append(_not_regular(_display(path, self.root), info.st_mode))
            return
        self.files[path] = info

    def _problem(self, path: Path, message: str, fix: str) -> None:
        self.problems.append(
            Problem(path=_display(path, self.root), line=0, message=message, fix=fix)
        )


def _stat_problem(path: Path, display: str, error: OSError) -> Problem:
    if error.errno == errno.ELOOP:
        return Problem(
            path=display,
            line=0,
            message="is a symlink loop",
            fix=f"Point the link at a real file, {NARROW}",
        )
    if error.errno in (errno.ENOENT, errno.ENOTDIR) and os.path.islink(path):
        return Problem(
            path=display,
            line=0,
            message=f"is a symlink to {os.readlink(path)}, which does not exist (a git submodule "
            "that was not checked out?); its resources would be read as deleted",
            fix=f"Check it out (`git submodule update --init`), remove the link, {NARROW}",
        )
    return Problem(
        path=display,
        line=0,
        message=f"cannot read it: {_reason(error)}",
        fix=f"Make it readable by the user running reconciler, {NARROW}",
    )


def _not_regular(display: str, mode: int) -> Problem:
    if stat.S_ISFIFO(mode):
        what = "a named pipe (FIFO)"
    elif stat.S_ISSOCK(mode):
        what = "a socket"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        what = "a device"
    else:
        what = "a special file"
    return Problem(
        path=display,
        line=0,
        message=f"is {what}, not a regular file",
        fix=f"Remove it, {NARROW}",
    )


def _reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
