"""Checks across documents: each resource alone may be valid, but the set must hold together.

A name declared twice, a baseline that names no declared resource, a stage that waits for an
unknown address or in a circle, a former address that is still declared. Each is a `Problem`
naming the file and line that must change.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TypeAlias

from reconciler.errors import Problem
from reconciler.model import Address, Resource, Stage
from reconciler.yamlread import dotted


def missing_baselines(resources_: Iterable[Resource]) -> Iterator[Problem]:
    """A `baseline: {address: ...}` must name another declared resource."""
    declared = {str(r.address) for r in resources_}
    for resource in resources_:
        for n, threshold in enumerate(resource.thresholds):
            named = threshold.baseline
            if named is None or named == "previous":
                continue
            if named == str(resource.address):
                message = "names the resource itself"
                fix = "Use `baseline: previous` for its own earlier runs"
            elif named not in declared:
                message = f"{named} is not a declared resource, so it has no baseline value"
                fix = "Name a resource declared in the manifests, as Kind/name"
            else:
                continue
            yield Problem(
                path=resource.source.path,
                line=resource.source.line,
                field=f"thresholds[{n}].baseline.address",
                message=message,
                fix=fix,
            )


def duplicates(resources_: Iterable[Resource]) -> Iterator[Problem]:
    seen: dict[Address, Resource] = {}
    for resource in sorted(resources_, key=lambda r: r.source):
        first = seen.setdefault(resource.address, resource)
        if first is not resource:
            yield Problem(
                path=resource.source.path,
                line=resource.source.line,
                field="metadata.name",
                message=f"{resource.address} is already declared at {first.source}",
                fix="Give one of them another name",
            )


def lifecycle_links(resources_: Sequence[Resource]) -> list[Problem]:
    """Check what links documents: stages that name no resource or wait in a circle, and
    former addresses that are still declared."""
    declared = {r.address: r for r in resources_}
    problems: list[Problem] = []
    for resource in sorted(resources_, key=lambda r: r.source):
        for n, stage in enumerate(resource.lifecycle.after):
            if stage.address not in declared:
                problems.append(
                    Problem(
                        path=resource.source.path,
                        line=stage.line,
                        field=dotted(("lifecycle", "after", n, "address")),
                        message=f"{stage.address} is not declared in any manifest",
                        fix="Declare it, or name a declared resource",
                    )
                )
        for former in resource.lifecycle.moved_from:
            if former in declared:
                problems.append(
                    Problem(
                        path=resource.source.path,
                        line=resource.source.line,
                        field="lifecycle.moved_from",
                        message=f"{former} is still declared at {declared[former].source}",
                        fix="A former address must no longer be declared: delete that document",
                    )
                )
    if not problems:
        problems += _cycles(declared)
    return problems


def _cycles(declared: Mapping[Address, Resource]) -> list[Problem]:
    """Report each circle of `lifecycle.after` once, naming every file and line on it."""
    problems: list[Problem] = []
    done: set[Address] = set()
    for start in sorted(declared):
        circle = _circle_from(start, None, declared, [], done)
        if not circle:
            continue
        links = [
            f"{a} waits for {b} ({declared[a].source.path}:{stage.line})"
            for (a, _), (b, stage) in itertools.pairwise(circle)
            if stage is not None
        ]
        first, stage = circle[0][0], circle[1][1]
        assert stage is not None
        problems.append(
            Problem(
                path=declared[first].source.path,
                line=stage.line,
                field="lifecycle.after",
                message="stages wait for each other in a circle: " + "; ".join(links),
                fix="Remove one of these `after` entries",
            )
        )
        done.update(a for a, _ in circle)
    return problems


Link: TypeAlias = tuple[Address, Stage | None]  # a resource, and the entry that led to it


def _circle_from(
    address: Address,
    via: Stage | None,
    declared: Mapping[Address, Resource],
    path: list[Link],
    done: set[Address],
) -> list[Link]:
    """Walk `after` entries depth first; return the first circle found, from its start."""
    seen = [a for a, _ in path]
    if address in seen:
        return [*path[seen.index(address) :], (address, via)]
    if address in done:
        return []
    path.append((address, via))
    for stage in sorted(declared[address].lifecycle.after):
        found = _circle_from(stage.address, stage, declared, path, done)
        if found:
            return found
    path.pop()
    done.add(address)
    return []
