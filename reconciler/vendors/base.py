"""The contract every vendor module fulfils, and the values the contract speaks in.

A vendor module (`vendors/bland.py`...) is a plain module holding everything that is true of
one vendor and needs no I/O; `vendors/registry.py` is the one dict of them. Code above looks a
vendor up there instead of branching on it (pre-commit's `Language` Protocol and registry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Protocol, TypeAlias

from reconciler.canonical import JSON, canonical_json

Scalar: TypeAlias = str | int | float | bool | None


class Vendor(StrEnum):
    """A vendor whose eval runs reconciler manages; each has a module in the registry."""

    BLAND = "bland"
    ADALINE = "adaline"
    ARIZE = "arize"

    @property
    def display_name(self) -> str:
        """Return the vendor's name as people write it (its module's DISPLAY_NAME)."""
        return _display_name(self)


class Kind(StrEnum):
    """A manifest document kind; each kind belongs to one vendor (its module's `KIND`)."""

    BLAND_EVAL_RUN = "BlandEvalRun"
    ADALINE_EVALUATION = "AdalineEvaluation"
    ARIZE_TASK_RUN = "ArizeTaskRun"

    @property
    def vendor(self) -> Vendor:
        """Return the vendor that runs resources of this kind (the module whose KIND it is)."""
        return _vendor_of(self)


# The registry imports the vendor modules, which import this one: it is read on first use.
@cache
def _display_name(vendor: Vendor) -> str:
    from reconciler.vendors.registry import VENDORS

    return VENDORS[vendor].DISPLAY_NAME


@cache
def _vendor_of(kind: Kind) -> Vendor:
    from reconciler.vendors.registry import BY_KIND

    return BY_KIND[kind].VENDOR


class IdentityMode(StrEnum):
    """How a vendor's runs are tied to resources (DESIGN.md "Identity and ownership")."""

    LABELS = "labels"
    NATURAL_KEY = "natural_key"


@dataclass(frozen=True, slots=True, order=True)
class NaturalKey:
    """The identity of a run at a vendor that stores no labels (Adaline, Arize).

    Built only by the vendor's module (`vendors/<vendor>.py`), from a spec by the manifest
    and from an API object by the provider alike, so both sides always agree on the key.
    """

    kind: Kind
    parts: tuple[tuple[str, str], ...]

    @property
    def container(self) -> str:
        """Return the id of the object the runs are listed under (prompt or task)."""
        return self.parts[0][1]

    def __str__(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.parts)


METRICS = (
    "pass_rate_pct",
    "score_mean",
    "error_rate_pct",
    "failed_count",
    "cost_usd",
    "sample_size",
)
RATE_METRICS = ("pass_rate_pct", "error_rate_pct")
# Which way is better, for regression gates: +1 higher is better, -1 lower is better. A metric
# missing here (sample_size) has no direction, and a regression bound on it is refused.
DIRECTIONS: dict[str, int] = {
    "pass_rate_pct": +1,
    "score_mean": +1,
    "error_rate_pct": -1,
    "failed_count": -1,
    "cost_usd": -1,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunMetrics:
    """A run's normalised metrics and progress, read once from its vendor object.

    None is "n/a": the vendor cannot give it, or the run has not reported it yet (DESIGN.md
    "Thresholds"); a gate on it is an error, never a silent pass.
    """

    pass_rate_pct: float | None = None
    score_mean: float | None = None
    error_rate_pct: float | None = None
    failed_count: float | None = None
    cost_usd: float | None = None
    sample_size: float | None = None
    items_done: int = 0  # Bland atoms, Adaline rows, Arize items finished so far
    items_total: int | None = None  # None: the vendor gives no total up front

    def value(self, metric: str) -> float | None:
        """Return one metric of METRICS by name; raise KeyError for any other name."""
        if metric not in METRICS:
            raise KeyError(metric)
        value: float | None = getattr(self, metric)
        return value


@dataclass(frozen=True, slots=True)
class RunFields:
    """A vendor's run object as its leaves: (dotted path, scalar), for `path:` thresholds.

    The compact parsed form of what a vendor returned (docs/architecture.md): every scalar
    at its vendor-native dotted path (`summary.overall_score_mean`, `items.0.name`), in the
    object's own order. Empty lists and objects have no leaf.

    Kept as two tuples, `paths` and `values`: runs of one shape (every run of a list, in
    practice) share one interned `paths` tuple, so 100,000 runs hold their paths once, not
    as 100,000 x leaves (key, value) pairs (docs/performance.md, memory).
    """

    paths: tuple[str, ...] = ()
    values: tuple[Scalar, ...] = ()

    @classmethod
    def of(cls, value: object) -> RunFields:
        """Flatten a JSON object into its leaves; anything else has none."""
        leaves: list[tuple[str, Scalar]] = []
        if isinstance(value, dict):
            _flatten(value, "", leaves)
        paths = tuple(path for path, _ in leaves)
        shared = _SHAPES.setdefault(paths, paths) if len(_SHAPES) < _MAX_SHAPES else paths
        return cls(shared, tuple(v for _, v in leaves))

    @property
    def leaves(self) -> tuple[tuple[str, Scalar], ...]:
        """Return the (dotted path, scalar) pairs, in the object's order."""
        return tuple(zip(self.paths, self.values, strict=True))

    def get(self, path: str) -> Scalar:
        """Return the scalar at `path`, or None when there is none (or it is a container)."""
        for key, value in zip(self.paths, self.values, strict=True):
            if key == path:
                return value
        return None

    def canonical(self, path: str) -> str | None:
        """Return canonical JSON of the value at `path` (scalar or rebuilt container), or None."""
        prefix = path + "."
        leaves = self.leaves
        found = [(k[len(prefix) :], v) for k, v in leaves if k.startswith(prefix)]
        for key, value in leaves:
            if key == path:
                return canonical_json(value)
        if not found:
            return None
        return canonical_json(_rebuild(found))


# One tuple of paths per run shape, shared by every run of that shape; bounded so that a
# vendor answering every run in a new shape cannot grow it without end.
_SHAPES: dict[tuple[str, ...], tuple[str, ...]] = {}
_MAX_SHAPES = 4096


def _flatten(
    value: dict[str, object] | list[object], prefix: str, leaves: list[tuple[str, Scalar]]
) -> None:
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        path = f"{prefix}{key}"
        if isinstance(item, dict | list):
            _flatten(item, path + ".", leaves)
        elif item is None or isinstance(item, str | int | float | bool):
            leaves.append((path, item))


def _rebuild(found: list[tuple[str, Scalar]]) -> JSON:
    children: dict[str, list[tuple[str, Scalar]]] = {}
    values: dict[str, JSON] = {}
    for path, value in found:
        head, sep, rest = path.partition(".")
        if sep:
            children.setdefault(head, []).append((rest, value))
        else:
            values[head] = value
    for head, group in children.items():
        values[head] = _rebuild(group)
    keys = list(values)
    if keys and keys == [str(n) for n in range(len(keys))]:
        return [values[k] for k in keys]
    return values


class LeavesNotKept(LookupError):
    """A command read the leaves of a run whose listing was told not to keep them."""


@dataclass(frozen=True, slots=True)
class _NotKept(RunFields):
    """The leaves of a run listed without them: reading them is a bug, never "n/a".

    A listing keeps the leaves only of the runs a command reads them from (`live.py`,
    `claimed_leaves`); a reader outside that choice fails loudly here instead of judging a
    `path:` threshold "n/a" or hiding a replace's old value.
    """

    def get(self, path: str) -> Scalar:
        raise LeavesNotKept(f"the run's leaves were not kept by its listing (asked: {path})")

    def canonical(self, path: str) -> str | None:
        raise LeavesNotKept(f"the run's leaves were not kept by its listing (asked: {path})")

    @property
    def leaves(self) -> tuple[tuple[str, Scalar], ...]:
        raise LeavesNotKept("the run's leaves were not kept by its listing")


NO_METRICS = RunMetrics()  # a run not read from a vendor: every metric n/a
NO_FIELDS = RunFields()  # a run object with no leaves
NOT_KEPT: RunFields = _NotKept()  # a listed run whose leaves no reader of this command needs


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleProblem:
    """A manifest rule a schema cannot say, broken: where in the document, what, the fix."""

    path: tuple[str | int, ...]  # from the document root, e.g. ("spec", "data_end_time")
    message: str
    fix: str


class VendorModule(Protocol):
    """What a `vendors/<vendor>.py` module declares; no I/O, no httpx, no YAML.

    Everything reconciler knows about a vendor without talking to it. Providers (the HTTP
    side) are in `providers/`, registered by vendor in `providers/registry.py`.
    """

    VENDOR: Vendor
    KIND: Kind
    DISPLAY_NAME: str  # as people write it: "Bland"
    IDENTITY: IdentityMode  # labels (provable ownership) or natural key (matched only)
    # A resource's history (regression baselines): every run of its natural key's container
    # (True: Arize, any window of the task) or of its whole key (False).
    HISTORY_BY_CONTAINER: bool
    SCHEMA_FILE: str  # the manifest schema of KIND, in schemas/
    REQUESTS_PER_SECOND: float | None  # the default cap: a published limit, or None
    PACE_NOTE: str  # why that pace, as reconciler.yaml's schema says it
    EMULATOR_SUFFIX: str  # where the emulator serves this API below its root ("/v2")

    def natural_key(self, spec: Mapping[str, JSON]) -> NaturalKey | None:
        """Return the natural key a spec declares; None for a labelling vendor."""
        ...

    def adopt_key(self, spec: Mapping[str, JSON]) -> str | None:
        """Return the fingerprint an unlabelled run is adopted by (`lifecycle.adopt`), if any."""
        ...

    def metrics(self, run: Mapping[str, object]) -> RunMetrics:
        """Read the normalised metrics and progress of one vendor run object."""
        ...

    def manifest_rules(self, spec: Mapping[str, JSON]) -> list[RuleProblem]:
        """Check what the kind's schema cannot say about a schema-valid spec."""
        ...
