"""`reconciler import`: manifest documents for the live runs no declared resource accounts for.

Pure: live runs (Bland runs read in full, since list items do not say what a run evaluates)
and the declared resources in, documents and the runs that could not be imported out. The
session lists and reads the runs and writes the files. Each document is checked the way the
planner will check it: planning the imported resource against the run it came from must give a
no-op, or the run is named as not imported, with why (docs/vendors.md, "Import").
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.canonical import digest
from reconciler.model import (
    JSON,
    LABEL_ADDRESS,
    LABEL_FIELDS,
    LABEL_PREFIX,
    LABEL_SPEC_HASH,
    LABEL_WORKSPACE,
    Action,
    Address,
    Kind,
    Lifecycle,
    LiveRun,
    PlanSettings,
    Resource,
    SourceLocation,
    Vendor,
    canonical_json,
    decode_field_hashes,
)
from reconciler.plan import plan
from reconciler.vendors.registry import kind_module

SCHEMA_BASE = "https://reconciler.dev/schemas/v1/"
_NAME_TAIL = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class Imported:
    """One manifest document written for one live run (or several runs of one identity)."""

    address: Address
    run_id: str
    text: str  # the YAML document, `---`-free, ending in a newline


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    """A live run that was not imported, and why."""

    vendor: Vendor
    run_id: str
    why: str

    def __str__(self) -> str:
        return f"{self.vendor.display_name} run {self.run_id}: {self.why}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportFilter:
    """Which live runs `import` considers (empty: all)."""

    vendors: tuple[Vendor, ...] = ()
    eval_agent_ids: tuple[str, ...] = ()  # Bland
    workbench_setup_ids: tuple[str, ...] = ()  # Bland
    statuses: tuple[str, ...] = ()  # Bland, the vendor's status words (any case)
    prompt_ids: tuple[str, ...] = ()  # Adaline
    task_ids: tuple[str, ...] = ()  # Arize
    since: datetime | None = None

    def admits(self, run: LiveRun) -> bool:
        """Say whether `run` passes every filter that applies to its vendor."""
        if self.vendors and run.vendor not in self.vendors:
            return False
        if self.since is not None and run.created_at < self.since:
            return False
        if run.vendor is Vendor.BLAND:
            if self.statuses and run.status.lower() not in {s.lower() for s in self.statuses}:
                return False
            agents = {v for k, v in run.fields.leaves if _is_agent_id(k) and isinstance(v, str)}
            if self.eval_agent_ids and not agents & set(self.eval_agent_ids):
                return False
            setup = run.fields.get("workbench_setup_id")
            if self.workbench_setup_ids and setup not in self.workbench_setup_ids:
                return False
        container = run.natural_key.container if run.natural_key is not None else None
        if run.vendor is Vendor.ADALINE and self.prompt_ids:
            return container in self.prompt_ids
        if run.vendor is Vendor.ARIZE and self.task_ids:
            return container in self.task_ids
        return True


def _is_agent_id(path: str) -> bool:
    return path.startswith("submitted_attached_agents.") and path.endswith(".eval_agent_id")


@dataclass(slots=True)
class ImportResult:
    """What `import` found: the documents to write and the runs it left, with why."""

    documents: list[Imported] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def import_runs(
    declared: Sequence[Resource],
    live: Sequence[LiveRun],
    *,
    settings: PlanSettings,
    only: ImportFilter,
) -> ImportResult:
    """Write a document for each identity of the unaccounted-for live runs that `only` admits.

    Runs that a declared resource already accounts for are left out silently; one document
    covers every run of one identity (an address, an adopt fingerprint, a natural key), built
    from the newest run that satisfies it.
    """
    accounted = _accounted(declared, live, settings)
    taken = {r.address.name for r in declared}
    result = ImportResult()
    groups: dict[str, list[LiveRun]] = {}
    for run in sorted(live, key=lambda r: (r.vendor.value, r.created_at, r.run_id)):
        if run.run_id in accounted or not only.admits(run):
            continue
        workspace = run.label(LABEL_WORKSPACE)
        if workspace is not None and workspace != settings.workspace:
            why = f"it belongs to reconciler workspace {workspace!r}; import it from that repo"
            result.skipped.append(Skipped(vendor=run.vendor, run_id=run.run_id, why=why))
            continue
        address = run.label(LABEL_ADDRESS)
        if workspace is not None and address and _released(address, settings):
            why = f"{address} is released (`release:` in reconciler.yaml)"
            result.skipped.append(Skipped(vendor=run.vendor, run_id=run.run_id, why=why))
            continue
        if not run.phase.satisfies:
            why = (
                f"it is {run.status}: a resource for it would create a new run at the next "
                "apply; declare one yourself if you want that"
            )
            result.skipped.append(Skipped(vendor=run.vendor, run_id=run.run_id, why=why))
            continue
        groups.setdefault(_identity(run), []).append(run)
    for identity in sorted(groups):
        runs = groups[identity]
        newest = runs[-1]
        try:
            document = _document(newest, runs, settings, taken)
        except _CannotImport as error:
            for run in runs:
                result.skipped.append(Skipped(vendor=run.vendor, run_id=run.run_id, why=str(error)))
            continue
        taken.add(document.address.name)
        result.documents.append(document)
    result.skipped.sort(key=lambda s: (s.vendor.value, s.run_id))
    return result


def _released(address: str, settings: PlanSettings) -> bool:
    return any(fnmatch.fnmatchcase(address, glob) for glob in settings.release)


class _CannotImport(Exception):
    """A run whose resource could not be written so that it satisfies it."""


def _identity(run: LiveRun) -> str:
    address = run.label(LABEL_ADDRESS)
    if run.label(LABEL_WORKSPACE) is not None and address:
        return f"{run.vendor.value} address {address}"
    if run.natural_key is not None:
        return f"{run.vendor.value} key {run.natural_key}"
    return f"{run.vendor.value} fingerprint {run.adopt_key}"


def _accounted(
    declared: Sequence[Resource], live: Sequence[LiveRun], settings: PlanSettings
) -> set[str]:
    """Return the ids of the runs a declared resource already accounts for."""
    managed_addresses = {str(r.address) for r in declared}
    managed_addresses |= {str(a) for r in declared for a in r.lifecycle.moved_from}
    keys = {r.natural_key for r in declared if r.natural_key is not None}
    ids = {
        c.run_id
        for c in plan(declared, live, settings=settings).changes
        if c.resource is not None and c.run_id is not None
    }
    for run in live:
        ours = run.label(LABEL_WORKSPACE) == settings.workspace
        if (ours and run.label(LABEL_ADDRESS) in managed_addresses) or (
            run.natural_key is not None and run.natural_key in keys
        ):
            ids.add(run.run_id)
    return ids


def _document(
    run: LiveRun, group: Sequence[LiveRun], settings: PlanSettings, taken: set[str]
) -> Imported:
    """Write the document for `run`, the newest of `group` (the runs of one identity).

    The check plans the new resource against its group only: the other runs are either
    accounted for by declared resources or have another identity, so they cannot change
    whether this resource is satisfied, and one import stays linear in the number of runs.
    """
    kind = _kind_of(run.vendor)
    labelled = run.label(LABEL_WORKSPACE) == settings.workspace and run.label(LABEL_ADDRESS)
    spec = _spec(run)
    if labelled:
        spec = _as_labelled(spec, run)
    adopt = run.vendor is Vendor.BLAND and not labelled
    if labelled:
        try:
            address = Address.parse(str(run.label(LABEL_ADDRESS)))
        except ValueError:
            raise _CannotImport("its reconciler.address label is not a valid address") from None
        if address.name in taken:
            raise _CannotImport(f"{address} is already declared")
    else:
        address = Address(kind, _free_name(_name(run), taken))
    lifecycle = Lifecycle(adopt=adopt)
    try:
        resource = Resource.build(
            address=address,
            spec=spec,
            lifecycle=lifecycle,
            source=SourceLocation(path="(import)", line=1),
        )
    except ValueError as error:
        raise _CannotImport(f"its identity cannot be read back: {error}") from None
    if labelled and resource.spec_hash != run.label(LABEL_SPEC_HASH):
        raise _CannotImport(
            "its spec hash covers what the run does not show; restore its document from "
            "version control instead"
        )
    check = plan([resource], group, settings=settings)
    mine = [c for c in check.changes if c.resource is resource or c.subject == str(address)]
    if not any(c.action is Action.NO_OP and c.run_id is not None for c in mine) or any(
        not c.action.reports_only for c in mine
    ):
        raise _CannotImport("the plan would not count it as this resource's run")
    return Imported(address=address, run_id=run.run_id, text=_yaml(address, spec, adopt, run))


def _as_labelled(spec: dict[str, JSON], run: LiveRun) -> dict[str, JSON]:
    """Pick, field by field, the value whose hash the run's `reconciler.fields` label holds.

    Bland echoes attached agents with their versions filled in, so the value as sent may be
    the echo without `eval_agent_version_id`. A field the label names but the run does not
    show (a trigger, or `pass_threshold_pct` before the run's summary exists) cannot be
    rebuilt: the run is not imported, and the reason says which field.
    """
    hashes = decode_field_hashes(run.label(LABEL_FIELDS))
    if hashes is None:
        return spec
    wanted = dict(hashes)
    chosen: dict[str, JSON] = {}
    missing: list[str] = []
    for name, expected in sorted(wanted.items()):
        for candidate in _variants(name, spec.get(name)):
            if digest(canonical_json(candidate))[:8] == expected:
                chosen[name] = candidate
                break
        else:
            missing.append(name)
    if missing:
        shown = ", ".join(missing)
        raise _CannotImport(
            f"the run does not show what its document said for {shown} (a trigger, or a "
            "value Bland reports only once the run finished); import it again when it has "
            "finished, or restore its document from version control"
        )
    if "metadata" in spec:
        chosen["metadata"] = spec["metadata"]
    return chosen


# What Bland fills in on each attached agent when the request left it out (bland.md 3.1 and
# the echo in §4): the version (latest published), weight 100 and target_level_keys ["pass"].
_FILLED_IN: tuple[tuple[str, JSON], ...] = (
    ("eval_agent_version_id", None),
    ("weight", 100),
    ("target_level_keys", ["pass"]),
)


def _variants(name: str, value: JSON) -> list[JSON]:
    """Return the values the request may have held, given the run's echo of it."""
    if value is None:
        return []
    if name != "attached_agents" or not isinstance(value, list):
        return [value]
    variants: list[JSON] = []
    for mask in range(1 << len(_FILLED_IN)):
        dropped = [k for n, (k, _) in enumerate(_FILLED_IN) if mask >> n & 1]
        variants.append(
            [
                {k: v for k, v in agent.items() if k not in dropped or not _is_default(k, v)}
                if isinstance(agent, dict)
                else agent
                for agent in value
            ]
        )
    return variants


def _is_default(key: str, value: JSON) -> bool:
    default = dict(_FILLED_IN)[key]
    return default is None or value == default


def _kind_of(vendor: Vendor) -> Kind:
    return next(k for k in Kind if k.vendor is vendor)


def _spec(run: LiveRun) -> dict[str, JSON]:
    """Rebuild the create body (plus promptId / task_id) from the run object's fields."""
    fields = run.fields

    def value(path: str) -> JSON:
        text = fields.canonical(path)
        return None if text is None else json.loads(text)

    spec: dict[str, JSON] = {}
    if run.vendor is Vendor.BLAND:
        spec["call_ids"] = value("submitted_call_ids")
        agents = value("submitted_attached_agents")
        if agents:
            spec["attached_agents"] = agents
        for name in ("run_mode", "workbench_setup_id", "workbench_setup_version_id"):
            if value(name) is not None:
                spec[name] = value(name)
        threshold = value("summary.pass_threshold_pct")
        if threshold is not None:
            spec["pass_threshold_pct"] = threshold
        user = {k: v for k, v in run.labels if not k.startswith(LABEL_PREFIX)}
        if user:
            spec["metadata"] = dict(sorted(user.items()))
        if spec["call_ids"] is None:
            raise _CannotImport("the run object does not say which calls it evaluates")
        return spec
    assert run.natural_key is not None
    parts = dict(run.natural_key.parts)
    if run.vendor is Vendor.ADALINE:
        return {
            "promptId": parts["promptId"],
            "evaluatorId": parts["evaluatorId"],
            "datasetId": parts["datasetId"],
        }
    spec = {"task_id": run.natural_key.container}
    spec |= {k: v for k, v in parts.items() if k != "task_id"}
    return spec


def _name(run: LiveRun) -> str:
    if run.natural_key is not None:
        tail = "-".join(v for _, v in run.natural_key.parts)
    else:
        tail = run.run_id
    cleaned = _NAME_TAIL.sub("-", f"{run.vendor.value}-{tail}".lower()).strip("-")
    return re.sub(r"-{2,}", "-", cleaned)[:55].rstrip("-")


def _free_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    number = 2
    while f"{name}-{number}" in taken:
        number += 1
    return f"{name}-{number}"


def _yaml(address: Address, spec: dict[str, JSON], adopt: bool, run: LiveRun) -> str:
    """Write the document: JSON values are YAML flow values, so no YAML library is needed."""
    schema = kind_module(address.kind).SCHEMA_FILE
    lines = [
        f"# yaml-language-server: $schema={SCHEMA_BASE}{schema}",
        f"# Imported from {run.vendor.display_name} run {run.run_id} ({run.status}).",
        "apiVersion: reconciler/v1",
        f"kind: {address.kind.value}",
        f"metadata: {{name: {address.name}}}",
        "spec:",
    ]
    lines += [f"  {key}: {canonical_json(value)}" for key, value in spec.items()]
    if adopt:
        lines.append("lifecycle: {adopt: true}  # the run carries no reconciler labels")
    return "\n".join(lines) + "\n"
