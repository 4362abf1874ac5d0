"""What a plan covers: the --target/--exclude globs, matched against addresses and runs."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence

from reconciler.model import LABEL_ADDRESS, LiveRun, Resource


class Matcher:
    """The --target/--exclude test: an address or run subject is in scope or not."""

    def __init__(self, targets: Sequence[str], excludes: Sequence[str]) -> None:
        self.targets = tuple(targets)
        self.excludes = tuple(excludes)
        self.everything = not self.targets and not self.excludes  # no glob: all is in scope

    def __call__(self, subject: str) -> bool:
        if self.everything:
            return True
        if self.targets and not any(fnmatch.fnmatchcase(subject, t) for t in self.targets):
            return False
        return not any(fnmatch.fnmatchcase(subject, e) for e in self.excludes)


def scope_matcher(targets: Sequence[str], excludes: Sequence[str]) -> Callable[[str], bool]:
    """Return the --target/--exclude test the planner applies to an address or run subject."""
    return Matcher(targets, excludes)


def run_subject(run: LiveRun) -> str:
    """Return what a run no resource declares is called in a plan: its address label or key."""
    return run.label(LABEL_ADDRESS) or str(run.natural_key or run.run_id)


def unmatched_globs(
    globs: Sequence[str], *, resources: Sequence[Resource], runs: Sequence[LiveRun]
) -> tuple[str, ...]:
    """Return the globs that match no declared address and no live run (a typo, most likely)."""
    if not globs:  # no subject set to build: one string per live run, at the peak of a plan
        return ()
    subjects = {str(r.address) for r in resources} | {run_subject(r) for r in runs}
    return tuple(g for g in globs if not any(fnmatch.fnmatchcase(s, g) for s in subjects))


def release_matcher(globs: Sequence[str]) -> Callable[[str], bool]:
    """Return whether an address matches one of reconciler.yaml's `release:` globs."""
    if not globs:
        return _never
    return lambda address: any(fnmatch.fnmatchcase(address, g) for g in globs)


def _never(address: str) -> bool:
    """No `release:` glob: no address is released."""
    return False
