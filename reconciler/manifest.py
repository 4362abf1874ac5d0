"""Manifest files to validated resources, with `path:line` errors.

Every problem of every file is collected, then raised at once as a ManifestError (sorted by
file and line). YAML is composed into nodes first so each value keeps the line it came from;
`${NAME}` is replaced from the environment at that point and the paths of such values are
remembered, so no message ever echoes them. Validation is JSON Schema (`schemas/`, the
kind's file named by its vendor module), plus the few rules a schema cannot say: times,
duplicate addresses, and each vendor's own rules (`manifest_rules`: Arize's window).
reconciler.yaml is read by `config.py`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reconciler.config import (
    CONFIG_NAME,
    Config,
    Safety,
    display_path,
    load_config,
)
from reconciler.discovery import Found, find_files, read_text
from reconciler.errors import ManifestError, Problem
from reconciler.links import duplicates, lifecycle_links, missing_baselines
from reconciler.model import (
    JSON,
    Address,
    Kind,
    Lifecycle,
    Resource,
    SourceLocation,
    Stage,
    StageGate,
    Threshold,
    canonical_json,
    parse_instant,
)
from reconciler.providers.config import ProviderConfig
from reconciler.validation import instant_fields, schema_problems, show
from reconciler.vendors.base import DIRECTIONS, RATE_METRICS
from reconciler.vendors.registry import kind_module
from reconciler.yamlread import Document, Path_, Reader, dotted

__all__ = [
    "API_VERSION",
    "Config",
    "ProviderConfig",
    "Safety",
    "load_config",
    "load_manifests",
    "manifest_files",
    "parse_manifest",
]

API_VERSION = "reconciler/v1"


def manifest_files(config: Config) -> tuple[list[Found], list[Problem]]:
    """Return the manifest files the config's globs match, and every path that is unreadable."""
    return find_files(config.root, config.manifests, skip=config.path)


def load_manifests(config: Config, *, environ: Mapping[str, str]) -> tuple[Resource, ...]:
    """Load every manifest the config names; raise ManifestError listing every problem.

    A path the globs reach but cannot read is a problem, never a skip: its resources would
    otherwise vanish from the desired state and their runs be planned as cancels.
    """
    files, problems = manifest_files(config)
    if not files and not problems:
        raise ManifestError(
            [
                Problem(
                    path=display_path(config.path, config.root),
                    line=0,
                    field="manifests",
                    message=f"no manifest file matches {', '.join(config.manifests)}",
                    fix="Add a manifest, or fix the globs in `manifests:`",
                )
            ]
        )
    resources_: list[Resource] = []
    for file in files:
        text, unreadable = read_text(file.path, file.display)
        if text is None:
            problems += [unreadable] if unreadable else []
            continue
        loaded, found, declares = _parse(text, file.display, environ=environ)
        if found and not declares and config.default_manifests:
            found = [_foreign(min(found), file.display)]
        resources_ += loaded
        problems += found
    problems += duplicates(resources_)
    problems += missing_baselines(resources_)
    if not problems:
        problems += lifecycle_links(resources_)
    if not resources_ and not problems:
        problems.append(
            Problem(
                path=display_path(config.path, config.root),
                line=0,
                field="manifests",
                message="the manifest files declare no resource",
                fix="Add a document with `apiVersion: reconciler/v1` and a `kind:`",
            )
        )
    if problems:
        raise ManifestError(problems)
    return tuple(sorted(resources_, key=lambda r: r.address))


def _foreign(problem: Problem, display: str) -> Problem:
    """Add to a file's first problem that the default globs may have picked up a stranger."""
    hint = (
        f"; if {display} is not a manifest, list yours in `manifests:` in {CONFIG_NAME} to "
        "narrow the set (by default every *.yaml and *.yml beside it is read)"
    )
    return Problem(
        path=problem.path,
        line=problem.line,
        column=problem.column,
        field=problem.field,
        message=problem.message,
        fix=(problem.fix or "Fix it") + hint,
    )


def parse_manifest(
    text: str, display: str, *, environ: Mapping[str, str]
) -> tuple[list[Resource], list[Problem]]:
    """Parse one manifest file's text: the resources it declares and the problems it has."""
    resources_, problems, _ = _parse(text, display, environ=environ)
    return resources_, problems


def _parse(
    text: str, display: str, *, environ: Mapping[str, str]
) -> tuple[list[Resource], list[Problem], bool]:
    """Parse one file: its resources, its problems, and whether it looks like a manifest.

    A file that parses but none of whose documents names our apiVersion or one of our kinds
    is probably not a manifest (docker-compose.yaml beside reconciler.yaml).
    """
    kinds = {k.value for k in Kind}

    def use(d: Document) -> tuple[bool, Resource | None, list[Problem]]:
        # each document is dropped once its resource is built (Reader.read_each)
        ours = isinstance(d.value, dict) and (
            d.value.get("apiVersion") == API_VERSION or d.value.get("kind") in kinds
        )
        return (ours, *_resource(d, display))

    reader = Reader(display, environ)
    documents = reader.read_each(text, use)
    problems = list(reader.problems)
    declares = not documents or any(ours for ours, _, _ in documents)
    resources_: list[Resource] = []
    for _, resource, found in documents:
        problems += found
        if resource is not None and not found:
            resources_.append(resource)
    if problems:
        return [], problems, declares
    return resources_, problems, declares


def _resource(document: Document, display: str) -> tuple[Resource | None, list[Problem]]:
    value = document.value
    if not isinstance(value, dict):
        return None, [
            Problem(
                path=display,
                line=document.line,
                message="a manifest document must be a mapping",
                fix="Start it with `apiVersion: reconciler/v1` and `kind:`",
            )
        ]
    if {("apiVersion",), ("kind",)} & document.unresolved:
        return None, []  # the reader has reported the value (an unset ${VAR}, a tag)
    api_version = value.get("apiVersion")
    if api_version != API_VERSION:
        if api_version is None:
            shown = "missing"
        elif document.is_sensitive(("apiVersion",)):
            shown = "(from the environment) is not known"
        else:
            shown = f"`{show(api_version)}` is not known"
        return None, [
            Problem(
                path=display,
                line=document.line_of(("apiVersion",)),
                field="apiVersion",
                message=f"apiVersion {shown}",
                fix=f"Write `apiVersion: {API_VERSION}`",
            )
        ]
    try:
        kind = Kind(str(value.get("kind")))
    except ValueError:
        known = ", ".join(k.value for k in Kind)
        close = difflib.get_close_matches(str(value.get("kind")), [k.value for k in Kind], n=1)
        if document.is_sensitive(("kind",)):
            close = []
        return None, [
            Problem(
                path=display,
                line=document.line_of(("kind",)),
                field="kind",
                message=(
                    "kind missing"
                    if value.get("kind") is None
                    else "unknown kind (from the environment)"
                    if document.is_sensitive(("kind",))
                    else f"unknown kind {show(value.get('kind'))}"
                ),
                fix=f"Did you mean {close[0]}?" if close else f"Use one of {known}",
            )
        ]
    schema = kind_module(kind).SCHEMA_FILE
    problems = schema_problems(schema, document, display, kind=kind.value)
    if problems:
        return None, problems
    problems = _rules(kind, document, display)
    if problems or document.unresolved:
        return None, problems  # values the reader refused are missing: build nothing
    return _build(kind, document, display), []


def _rules(kind: Kind, document: Document, display: str) -> list[Problem]:
    """Check what the schemas cannot say: times, confidence, the vendor's own rules."""
    problems: list[Problem] = []
    spec = document.value["spec"]
    rerun_after = (document.value.get("lifecycle") or {}).get("rerun_after")
    if rerun_after is not None:
        problems += _instant_problem(document, display, ("lifecycle", "rerun_after"), rerun_after)
    module = kind_module(kind)
    times: list[Problem] = []
    for name in instant_fields(module.SCHEMA_FILE):
        if name in spec:
            times += _instant_problem(document, display, ("spec", name), spec[name])
    problems += times
    if not times:  # the vendor's own rules read the times: only once they are readable
        problems += [
            Problem(
                path=display,
                line=document.line_of(rule.path),
                field=dotted(rule.path),
                message=rule.message,
                fix=rule.fix,
            )
            for rule in module.manifest_rules(spec)
        ]
    for n, threshold in enumerate(document.value.get("thresholds") or []):
        if threshold.get("confidence") is not None and threshold.get("path") is not None:
            where: Path_ = ("thresholds", n, "confidence")
            problems.append(
                Problem(
                    path=display,
                    line=document.line_of(where),
                    field=dotted(where),
                    message="confidence applies to rate metrics, not to a `path`",
                    fix="Use it with `metric: pass_rate_pct` or `error_rate_pct`",
                )
            )
        problems += _regression_problems(document, display, n, threshold)
    return problems


_BOUNDS = {"max_drop": +1, "max_drop_pct": +1, "max_rise": -1, "max_rise_pct": -1}


def _regression_problems(
    document: Document, display: str, n: int, threshold: Mapping[str, Any]
) -> list[Problem]:
    """A regression bound needs a metric with a direction, bounded in its bad direction."""
    bounds = [k for k in _BOUNDS if threshold.get(k) is not None]
    if not bounds:
        return []
    problems: list[Problem] = []

    def problem(key: str, message: str, fix: str) -> None:
        where: Path_ = ("thresholds", n, key)
        problems.append(
            Problem(
                path=display,
                line=document.line_of(where),
                field=dotted(where),
                message=message,
                fix=fix,
            )
        )

    metric = threshold.get("metric")
    if metric is None:
        problem(
            bounds[0],
            "a regression bound needs a metric with a direction, not a `path`",
            f"Use it with one of {', '.join(DIRECTIONS)}",
        )
        return problems
    direction = DIRECTIONS.get(metric)
    if direction is None:
        problem(
            bounds[0],
            f"{metric} has no direction (neither higher nor lower is better)",
            f"Bound a change of one of {', '.join(DIRECTIONS)}, or use min/max",
        )
        return problems
    for key in bounds:
        if _BOUNDS[key] != direction:
            better = "higher" if direction > 0 else "lower"
            right = "max_drop" if direction > 0 else "max_rise"
            problem(
                key,
                f"{metric} is better {better}, so a regression is a "
                f"{'drop' if direction > 0 else 'rise'}, not what `{key}` bounds",
                f"Use `{right}` or `{right}_pct`",
            )
    if threshold.get("confidence") is not None and metric not in RATE_METRICS:
        problem(
            "confidence",
            f"confidence needs a sample size, and {metric} is not a rate over one",
            "Use it with `metric: pass_rate_pct` or `error_rate_pct`, or drop it",
        )
    return problems


def _instant_problem(
    document: Document, display: str, path: tuple[str, str], value: object
) -> list[Problem]:
    try:
        parse_instant(str(value))
    except OverflowError:
        return [
            Problem(
                path=display,
                line=document.line_of(path),
                field=dotted(path),
                message="is out of range once converted to UTC",
                fix="Use a time between the years 0001 and 9999",
            )
        ]
    except ValueError:
        shown = "" if document.is_sensitive(path) else f", got {show(value)}"
        return [
            Problem(
                path=display,
                line=document.line_of(path),
                field=dotted(path),
                message=f"must be an RFC 3339 time with a time zone{shown}",
                fix='Write it like "2026-11-01T00:00:00Z"',
            )
        ]
    return []


def _build(kind: Kind, document: Document, display: str) -> Resource:
    value = document.value
    spec: dict[str, JSON] = value["spec"]
    lifecycle = value.get("lifecycle") or {}
    triggers = lifecycle.get("triggers") or {}
    rerun_after = lifecycle.get("rerun_after")
    sensitive = frozenset(  # spec paths without `spec.`; triggers as `lifecycle.triggers.NAME`
        dotted(path[1:]) if path[0] == "spec" else dotted(path)
        for path in document.sensitive
        if path and (path[0] == "spec" or path[:2] == ("lifecycle", "triggers"))
    )
    return Resource.build(
        address=Address(kind, value["metadata"]["name"]),
        spec=spec,
        lifecycle=Lifecycle(
            protect=bool(lifecycle.get("protect", False)),
            adopt=bool(lifecycle.get("adopt", False)),
            max_attempts=int(lifecycle.get("max_attempts", 3)),
            triggers=tuple(sorted((k, canonical_json(v)) for k, v in triggers.items())),
            rerun_after=_instant(rerun_after),
            moved_from=tuple(Address.parse(a) for a in lifecycle.get("moved_from") or ()),
            after=tuple(
                Stage(
                    address=Address.parse(entry["address"]),
                    gates=StageGate(entry.get("gates", StageGate.PASS.value)),
                    line=document.line_of(("lifecycle", "after", n, "address")),
                )
                for n, entry in enumerate(lifecycle.get("after") or ())
            ),
        ),
        thresholds=tuple(_threshold(t) for t in value.get("thresholds") or ()),
        source=SourceLocation(path=display, line=document.line),
        sensitive_paths=sensitive,
    )


def _instant(value: object) -> datetime | None:
    return None if value is None else parse_instant(str(value))


def _threshold(value: Mapping[str, Any]) -> Threshold:
    return Threshold(
        metric=value.get("metric"),
        path=value.get("path"),
        min=value.get("min"),
        max=value.get("max"),
        equals=value.get("equals"),
        confidence=value.get("confidence"),
        baseline=_baseline(value.get("baseline")),
        max_drop=value.get("max_drop"),
        max_rise=value.get("max_rise"),
        max_drop_pct=value.get("max_drop_pct"),
        max_rise_pct=value.get("max_rise_pct"),
        fail_on_missing_baseline=value.get("on_missing_baseline") == "fail",
    )


def _baseline(value: object) -> str | None:
    if isinstance(value, Mapping):
        return str(value["address"])
    return None if value is None else str(value)
