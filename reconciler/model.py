"""The values every layer shares: resources, live runs, identities and plans.

Everything here is a frozen dataclass or a `StrEnum`, so values compare equal in asserts, hash,
and can never be half-updated. This module does no I/O: no clock, no environment, no network.
Identity (addresses, spec hashes, natural keys, ownership labels) is computed here and nowhere
else, because a second definition of identity is how duplicates get made.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias

from reconciler.canonical import (
    JSON,
    JSONObject,
    canonical_json,
    digest,
    format_instant,
    parse_instant,
)
from reconciler.declared import Ownership, SourceLocation, StageGate, Threshold
from reconciler.vendors.base import (
    NO_FIELDS,
    NO_METRICS,
    IdentityMode,
    Kind,
    NaturalKey,
    RunFields,
    RunMetrics,
    Vendor,
)
from reconciler.vendors.registry import kind_module

__all__ = [  # the values of vendors/base.py, canonical.py and declared.py, for every layer
    "JSON",
    "IdentityMode",
    "JSONObject",
    "Kind",
    "NaturalKey",
    "Ownership",
    "RunFields",
    "RunMetrics",
    "SourceLocation",
    "StageGate",
    "Threshold",
    "Vendor",
    "canonical_json",
    "format_instant",
    "parse_instant",
]

Labels: TypeAlias = tuple[tuple[str, str], ...]

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
WORKSPACE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")

LABEL_PREFIX = "reconciler."
LABEL_WORKSPACE = "reconciler.workspace"
LABEL_ADDRESS = "reconciler.address"
LABEL_SPEC_HASH = "reconciler.spec-hash"
LABEL_REQUEST_ID = "reconciler.request-id"
LABEL_PROTECT = "reconciler.protect"
LABEL_FIELDS = "reconciler.fields"


class RunPhase(StrEnum):
    """What a vendor status means for reconciliation, whatever the vendor calls it."""

    ACTIVE = "active"  # pending, queued, running: may still be cancelled
    SUCCEEDED = "succeeded"  # complete, partial, completed: satisfies its resource
    FAILED = "failed"  # an attempt that counts towards max_attempts
    CANCELLED = "cancelled"  # cancelled or cancelling: an attempt, never cancelled again
    UNKNOWN = "unknown"  # a status no vendor page documents: never cancelled, never re-created

    @classmethod
    def from_status(cls, status: str) -> RunPhase:
        """Map any vendor's run status (any case) to its phase."""
        match status.strip().lower():
            case "pending" | "queued" | "running":
                return cls.ACTIVE
            case "complete" | "completed" | "partial":
                return cls.SUCCEEDED
            case "failed":
                return cls.FAILED
            case "cancelled" | "canceled" | "cancelling" | "canceling":
                return cls.CANCELLED
            case _:
                return cls.UNKNOWN

    @property
    def satisfies(self) -> bool:
        """Say whether a run in this phase satisfies its resource (rule 1)."""
        return self in (RunPhase.ACTIVE, RunPhase.SUCCEEDED, RunPhase.UNKNOWN)

    @property
    def is_attempt_lost(self) -> bool:
        """Say whether a run in this phase counts towards `max_attempts` (rule 2)."""
        return self in (RunPhase.FAILED, RunPhase.CANCELLED)


@dataclass(frozen=True, slots=True, order=True)
class Address:
    """`<kind>/<name>`: the stable identity of a resource across commits."""

    kind: Kind
    name: str

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse `Kind/name`; raise ValueError naming what is wrong."""
        kind_text, sep, name = text.partition("/")
        if not sep:
            raise ValueError(f"address {text!r} is not of the form <kind>/<name>")
        try:
            kind = Kind(kind_text)
        except ValueError:
            kinds = ", ".join(k.value for k in Kind)
            raise ValueError(f"address {text!r} has unknown kind (one of {kinds})") from None
        if not NAME_PATTERN.match(name):
            raise ValueError(f"address {text!r} has an invalid name")
        return cls(kind, name)

    def __str__(self) -> str:
        return f"{self.kind.value}/{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Lifecycle:
    """How reconciler treats the runs of one resource (all optional in the manifest)."""

    protect: bool = False
    adopt: bool = False
    max_attempts: int = 3
    triggers: tuple[tuple[str, str], ...] = ()  # name -> canonical JSON of the value
    rerun_after: datetime | None = None
    moved_from: tuple[Address, ...] = ()  # former addresses whose runs are this resource's
    after: tuple[Stage, ...] = ()  # resources whose current runs must finish (and pass) first


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class Stage:
    """One `lifecycle.after` entry: the resource waited for, and what it must reach."""

    address: Address
    gates: StageGate = StageGate.PASS
    line: int = field(default=0, compare=False)  # where the entry is in its manifest


def spec_hash_of(spec: Mapping[str, JSON], triggers: tuple[tuple[str, str], ...]) -> str:
    """Hash every field sent to the vendor (minus our labels) plus `lifecycle.triggers`."""
    body = {k: v for k, v in spec.items() if k != "metadata"}
    metadata = spec.get("metadata")
    if isinstance(metadata, dict):
        user_metadata = {k: v for k, v in metadata.items() if not k.startswith(LABEL_PREFIX)}
        if user_metadata:
            body["metadata"] = user_metadata
    payload = {"spec": body, "triggers": {k: json.loads(v) for k, v in triggers}}
    return digest(canonical_json(payload))


def field_hashes_of(
    spec: Mapping[str, JSON], triggers: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """Hash each top-level spec field and each trigger, to name what a replace changes."""
    items = [(k, digest(canonical_json(v))[:8]) for k, v in spec.items() if k != "metadata"]
    items += [(f"lifecycle.triggers.{k}", digest(v)[:8]) for k, v in triggers]
    return tuple(sorted(items))


def encode_field_hashes(hashes: tuple[tuple[str, str], ...]) -> str:
    """Encode field hashes as the `reconciler.fields` label value."""
    return ",".join(f"{k}={v}" for k, v in hashes)


def decode_field_hashes(text: str | None) -> tuple[tuple[str, str], ...] | None:
    """Decode a `reconciler.fields` label; None when absent or unreadable."""
    if not text:
        return None
    pairs: list[tuple[str, str]] = []
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key:
            return None
        pairs.append((key, value))
    return tuple(sorted(pairs))


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """One declared eval run: a validated manifest document."""

    address: Address
    spec_json: str  # canonical JSON of the vendor create body (plus promptId / task_id)
    spec_hash: str
    lifecycle: Lifecycle
    thresholds: tuple[Threshold, ...]
    source: SourceLocation
    natural_key: NaturalKey | None
    adopt_key: str | None
    field_hashes: tuple[tuple[str, str], ...]
    # paths whose values came from ${ENV}: spec paths without `spec.`, `lifecycle.triggers.X`
    sensitive_paths: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        *,
        address: Address,
        spec: Mapping[str, JSON],
        lifecycle: Lifecycle,
        thresholds: tuple[Threshold, ...] = (),
        source: SourceLocation,
        sensitive_paths: frozenset[str] = frozenset(),
    ) -> Resource:
        """Build a resource, computing its hash and keys from the spec."""
        return cls(
            address=address,
            spec_json=canonical_json(dict(spec)),
            spec_hash=spec_hash_of(spec, lifecycle.triggers),
            lifecycle=lifecycle,
            thresholds=thresholds,
            source=source,
            natural_key=kind_module(address.kind).natural_key(spec),
            adopt_key=kind_module(address.kind).adopt_key(spec),
            field_hashes=field_hashes_of(spec, lifecycle.triggers),
            sensitive_paths=sensitive_paths,
        )

    @property
    def vendor(self) -> Vendor:
        """Return the vendor that runs this resource."""
        return self.address.kind.vendor

    @property
    def spec(self) -> JSONObject:
        """Return a fresh copy of the spec as a JSON object."""
        value: JSONObject = json.loads(self.spec_json)
        return value


def ownership_labels(resource: Resource, *, workspace: str, request_id: str) -> Labels:
    """Return the labels a run of `resource` carries at a labelling vendor (Bland metadata)."""
    labels = {
        LABEL_WORKSPACE: workspace,
        LABEL_ADDRESS: str(resource.address),
        LABEL_SPEC_HASH: resource.spec_hash,
        LABEL_REQUEST_ID: request_id,
        LABEL_FIELDS: encode_field_hashes(resource.field_hashes),
    }
    if resource.lifecycle.protect:
        labels[LABEL_PROTECT] = "true"
    return tuple(sorted(labels.items()))


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveRun:
    """A run as a vendor's list endpoint returns it, parsed at the provider's border."""

    vendor: Vendor
    run_id: str
    status: str  # the vendor's own word, for display
    phase: RunPhase
    created_at: datetime
    labels: Labels = ()  # Bland run metadata; empty for label-less vendors
    natural_key: NaturalKey | None = None
    created_by: str | None = None
    adopt_key: str | None = None
    cost_usd: float | None = None  # what the run has cost so far, when the vendor says
    metrics: RunMetrics = NO_METRICS  # read once by the provider, for gates and progress
    fields: RunFields = NO_FIELDS  # the run object's leaves, for `path:` thresholds

    def label(self, key: str) -> str | None:
        """Return the value of label `key`, or None."""
        for k, v in self.labels:
            if k == key:
                return v
        return None

    @property
    def protected(self) -> bool:
        """Say whether the run carries `reconciler.protect=true`."""
        return (self.label(LABEL_PROTECT) or "").lower() == "true"


class Action(StrEnum):
    """What a plan does for one resource or run."""

    CREATE = "create"
    CANCEL = "cancel"
    REPLACE = "replace"
    NO_OP = "no-op"
    # Lines that only report (DESIGN.md rule 10): never changes, nothing for apply to do.
    MOVED = "moved"  # a run labelled with a former address now counts as this resource's
    RELEASED = "released"  # a run of a released address: never cancelled or replaced
    WAIT = "wait"  # a create held until the stages before it passed

    @property
    def reports_only(self) -> bool:
        """Say whether this action only reports (rule 10): not a change, nothing to apply."""
        return self in (Action.NO_OP, Action.MOVED, Action.RELEASED, Action.WAIT)


class Reason(StrEnum):
    """Why a change is in the plan: stable snake_case strings for JSON consumers."""

    MISSING = "missing"  # create: no run satisfies the resource
    RETRY_AFTER_FAILURE = "retry_after_failure"  # create: earlier attempts failed or were cancelled
    RERUN_AFTER = "rerun_after"  # create: every run predates lifecycle.rerun_after
    SPEC_CHANGED = "spec_changed"  # the spec differs from the managed run's (replace, or a
    # create after the old run finished, or the cancel left over from an interrupted replace)
    NOT_DECLARED = "not_declared"  # cancel: the run's address or key is no longer declared
    DUPLICATE = "duplicate"  # cancel: a newer copy of a run we already have (rule 7)
    SATISFIED = "satisfied"  # no-op: a managed run satisfies the resource
    MATCHED = "matched"  # no-op: a run with the resource's natural key satisfies it
    ADOPTED = "adopted"  # no-op: an unmanaged run satisfies it through adopt: true
    ATTEMPTS_EXHAUSTED = "max_attempts_reached"  # no-op: too many failed attempts
    PROTECTED = "protected"  # no-op: a cancel was due but the run is protected
    MOVED_FROM = "moved_from"  # moved: the run carries a former address (lifecycle.moved_from)
    RELEASE = "release"  # released: the address matches a `release:` glob in reconciler.yaml
    STAGE_PENDING = "stage_pending"  # wait: a stage before has no finished run yet
    STAGE_FAILED = "stage_failed"  # wait: a stage before finished badly or missed its gates


class Identity(StrEnum):
    """What a change's link between resource and run rests on."""

    LABELS = "labels"
    NATURAL_KEY = "natural_key"
    ADOPTED = "adopted"
    NONE = "none"  # a create: no run yet


class DiffKind(StrEnum):
    """How one field of a spec changed."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


SENSITIVE_VALUE = "(sensitive)"  # what a diff shows for a value that came from ${ENV}


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class FieldDiff:
    """One changed field of a replace; `new` is None when removed, SENSITIVE_VALUE when secret."""

    path: str
    change: DiffKind
    new: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One line of a plan: an action on a resource, a run, or both (a replace)."""

    action: Action
    reason: Reason
    vendor: Vendor
    subject: str  # the address, or the natural key of a run no resource declares
    identity: Identity
    resource: Resource | None = None  # what to create (create, replace) or what is satisfied
    run: LiveRun | None = None  # the run cancelled, or the one that satisfies the resource
    changed: tuple[FieldDiff, ...] = ()
    attempts: int = 0  # failed or cancelled runs of the current spec so far
    cost_usd: float | None = None  # estimated USD of a create or replace; None = unknown
    moved_from: Address | None = None  # moved: the former address the run carries
    waits_for: tuple[Address, ...] = ()  # wait: the stages not yet passed

    @property
    def address(self) -> Address | None:
        """Return the address of the resource this change is about, when there is one."""
        if self.resource is not None:
            return self.resource.address
        try:
            return Address.parse(self.subject)
        except ValueError:
            return None

    @property
    def run_id(self) -> str | None:
        """Return the id of the run this change cancels or rests on."""
        return self.run.run_id if self.run is not None else None

    @property
    def cancels(self) -> bool:
        """Say whether applying this change cancels a run."""
        return self.action in (Action.CANCEL, Action.REPLACE)

    @property
    def creates(self) -> bool:
        """Say whether applying this change creates a run."""
        return self.action in (Action.CREATE, Action.REPLACE)

    @property
    def held(self) -> bool:
        """Say whether this line is a create held for a stage (priced, but not applied now)."""
        return self.action is Action.WAIT


@dataclass(frozen=True, slots=True, kw_only=True)
class VendorCounts:
    """What a plan saw at one vendor, so the user knows what it left alone and why."""

    vendor: Vendor
    live: int = 0  # runs listed
    managed: int = 0  # runs this workspace can prove it owns
    matched: int = 0  # unmanaged runs whose natural key equals a declared resource's
    unmanaged: int = 0  # runs with no reconciler ownership at all
    foreign: int = 0  # runs owned by another reconciler workspace (Bland) or another user (Arize)

    @property
    def others(self) -> int:
        """Return the runs this workspace does not own: live = managed + others."""
        return self.foreign + self.unmanaged


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanSettings:
    """Everything the planner needs besides desired and live state; no I/O, passed in."""

    workspace: str
    now: datetime
    owners: tuple[tuple[Vendor, str], ...] = ()  # vendor -> user id whose runs are ours (Arize)
    max_cancellations: int = 10
    allow_mass_cancel: bool = False
    targets: tuple[str, ...] = ()  # address globs; empty = everything
    excludes: tuple[str, ...] = ()
    release: tuple[str, ...] = ()  # address globs whose runs are never cancelled or replaced

    def owner(self, vendor: Vendor) -> str | None:
        """Return the configured owner id for `vendor`, if any."""
        for v, owner in self.owners:
            if v is vendor:
                return owner
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The diff between desired and live state: plain data, sorted, renderable, appliable."""

    workspace: str
    changes: tuple[Change, ...]
    counts: tuple[VendorCounts, ...]
    refusal: str | None = None  # set when the mass-cancel guard refuses the plan
    targeted: bool = False  # --target/--exclude limited the plan: it is partial
    notes: tuple[str, ...] = field(default_factory=tuple)
    cost_refusal: str | None = None  # set when safety.max_cost_usd refuses the apply

    @property
    def actions(self) -> tuple[Change, ...]:
        """Return the changes that do something (everything but no-ops)."""
        return tuple(c for c in self.changes if not c.action.reports_only)

    def count(self, action: Action) -> int:
        """Count the changes of one action."""
        return sum(1 for c in self.changes if c.action is action)

    @property
    def total_cost_usd(self) -> float:
        """Return the sum of the known estimates of every create and replace."""
        return sum((c.cost_usd for c in self.changes if c.creates and c.cost_usd is not None), 0.0)

    @property
    def held_cost_usd(self) -> float:
        """Return the sum of the known estimates of the creates held for a stage."""
        return sum((c.cost_usd for c in self.changes if c.held and c.cost_usd is not None), 0.0)

    @property
    def unknown_costs(self) -> int:
        """Count the creates and replaces whose cost is unknown (never counted as $0)."""
        return sum(1 for c in self.changes if c.creates and c.cost_usd is None)

    @property
    def has_changes(self) -> bool:
        """Say whether applying the plan would do anything."""
        return bool(self.actions)

    @property
    def summary(self) -> str:
        """Return the Terraform-style summary line."""
        if not self.has_changes:
            return "No changes. The live runs match the manifests."
        return (
            f"Plan: {self.count(Action.CREATE)} to create, {self.count(Action.CANCEL)} to cancel, "
            f"{self.count(Action.REPLACE)} to replace."
        )
