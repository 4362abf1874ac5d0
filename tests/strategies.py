"""Hypothesis strategies for the planner: resources, live runs derived from them, settings.

Every strategy is an `@st.composite` so each draw reads top to bottom. Names and spec values
come from small alphabets on purpose: collisions (same address, same hash, same natural key,
duplicate runs) are where the planner's rules meet, so the strategies make them common.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from reconciler.model import (
    JSON,
    LABEL_ADDRESS,
    LABEL_PROTECT,
    Address,
    Kind,
    Lifecycle,
    LiveRun,
    PlanSettings,
    Resource,
    RunPhase,
    SourceLocation,
    Stage,
    StageGate,
    Vendor,
    canonical_json,
    format_instant,
    ownership_labels,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WORKSPACE = "ws"
OTHER_WORKSPACE = "other-ws"
OWNER = "user-me"
OTHER_USER = "user-other"

NAMES = ("a", "b", "c", "d")
CALL_IDS = ("call-1", "call-2", "call-3")
AGENT_IDS = ("agent-1", "agent-2")
TRIGGER_NAMES = ("dataset", "model")
TRIGGER_VALUES: tuple[JSON, ...] = ("v1", "v2", 1)
STATUSES = (
    "pending",
    "queued",
    "running",
    "complete",
    "partial",
    "completed",
    "failed",
    "cancelled",
    "cancelling",
    "weird-new-status",
)
ACTIVE_STATUSES = ("pending", "queued", "running")


@st.composite
def instants(draw: st.DrawFn, *, hours: int = 48) -> datetime:
    """Draw an aware UTC moment within `hours` either side of NOW, on whole minutes."""
    minutes = draw(st.integers(min_value=-hours * 60, max_value=hours * 60))
    return NOW + timedelta(minutes=minutes)


@st.composite
def past_instants(draw: st.DrawFn, *, hours: int = 48) -> datetime:
    """Draw an aware UTC moment up to `hours` before NOW (at least a minute before)."""
    minutes = draw(st.integers(min_value=1, max_value=hours * 60))
    return NOW - timedelta(minutes=minutes)


@st.composite
def triggers(draw: st.DrawFn) -> tuple[tuple[str, str], ...]:
    """Draw `lifecycle.triggers`: a few names, each with a small JSON value, canonically."""
    names = draw(st.lists(st.sampled_from(TRIGGER_NAMES), unique=True, max_size=2))
    values: list[JSON] = [draw(st.sampled_from(TRIGGER_VALUES)) for _ in names]
    return tuple(sorted((n, canonical_json(v)) for n, v in zip(names, values, strict=True)))


# Built once: constructing (and validating) strategies inside every draw is what is slow.
_NAMES = st.sampled_from(NAMES)
_STATUSES = st.sampled_from(ACTIVE_STATUSES + STATUSES)  # active runs twice as likely
_MAX_ATTEMPTS = st.integers(min_value=1, max_value=3)
_RERUN_AFTER = st.one_of(st.none(), st.none(), instants())
_PAST = past_instants()
_TRIGGERS = triggers()


@st.composite
def lifecycles(draw: st.DrawFn) -> Lifecycle:
    """Draw a lifecycle: protect, adopt, max_attempts, triggers and (rarely) rerun_after."""
    rerun_after = draw(_RERUN_AFTER)
    return Lifecycle(
        protect=draw(st.sampled_from((False, False, False, True))),
        adopt=draw(st.booleans()),
        max_attempts=draw(_MAX_ATTEMPTS),
        triggers=draw(_TRIGGERS),
        rerun_after=rerun_after,
    )


@st.composite
def bland_specs(draw: st.DrawFn) -> dict[str, JSON]:
    """Draw a small Bland create body: calls, agents, a threshold; few values, so hashes repeat."""
    calls: list[JSON] = list(
        draw(st.lists(st.sampled_from(CALL_IDS), min_size=1, max_size=2, unique=True))
    )
    agent = draw(st.sampled_from(AGENT_IDS))
    spec: dict[str, JSON] = {
        "call_ids": calls,
        "attached_agents": [{"eval_agent_id": agent}],
        "pass_threshold_pct": draw(st.sampled_from((70, 80))),
    }
    if draw(st.booleans()):
        spec["run_mode"] = "text"
    return spec


_LIFECYCLES = lifecycles()
_BLAND_SPECS = bland_specs()


@st.composite
def bland_resources(draw: st.DrawFn, *, name: str | None = None) -> Resource:
    """Draw a BlandEvalRun resource with a name from a small alphabet and a drawn lifecycle."""
    chosen = name if name is not None else draw(st.sampled_from(NAMES))
    return Resource.build(
        address=Address(Kind.BLAND_EVAL_RUN, chosen),
        spec=draw(_BLAND_SPECS),
        lifecycle=draw(_LIFECYCLES),
        source=SourceLocation(path=f"evals/{chosen}.yaml", line=1),
    )


@st.composite
def adaline_resources(draw: st.DrawFn) -> Resource:
    """Draw an AdalineEvaluation resource; its natural key comes from a small alphabet."""
    name = draw(_NAMES)
    spec: dict[str, JSON] = {
        "promptId": draw(st.sampled_from(("prompt-1", "prompt-2"))),
        "evaluatorId": draw(st.sampled_from(("evaluator-1", "evaluator-2"))),
        "datasetId": "dataset-1",
    }
    return Resource.build(
        address=Address(Kind.ADALINE_EVALUATION, name),
        spec=spec,
        lifecycle=draw(_LIFECYCLES),
        source=SourceLocation(path=f"evals/adaline-{name}.yaml", line=1),
    )


@st.composite
def arize_resources(draw: st.DrawFn) -> Resource:
    """Draw an ArizeTaskRun resource keyed by a data window or by an experiment name."""
    name = draw(_NAMES)
    spec: dict[str, JSON] = {"task_id": draw(st.sampled_from(("task-1", "task-2")))}
    if draw(st.booleans()):
        spec["experiment_name"] = draw(st.sampled_from(("exp-1", "exp-2")))
    else:
        start = NOW - timedelta(days=draw(st.integers(min_value=1, max_value=2)))
        spec["data_start_time"] = format_instant(start)
        spec["data_end_time"] = format_instant(NOW)
    return Resource.build(
        address=Address(Kind.ARIZE_TASK_RUN, name),
        spec=spec,
        lifecycle=draw(_LIFECYCLES),
        source=SourceLocation(path=f"evals/arize-{name}.yaml", line=1),
    )


_ANY_RESOURCE = st.one_of(
    bland_resources(), bland_resources(), adaline_resources(), arize_resources()
)


@st.composite
def resources(draw: st.DrawFn) -> Resource:
    """Draw a resource of any kind, Bland most often."""
    return draw(_ANY_RESOURCE)


_RESOURCES = resources()


@st.composite
def desired_states(draw: st.DrawFn, *, max_size: int = 5) -> list[Resource]:
    """Draw declared resources as a valid manifest set: unique addresses and natural keys."""
    drawn = draw(st.lists(_RESOURCES, max_size=max_size, unique_by=lambda r: r.address))
    keys = set()
    kept: list[Resource] = []
    for resource in drawn:
        if resource.natural_key is not None:
            if resource.natural_key in keys:
                continue
            keys.add(resource.natural_key)
        kept.append(resource)
    return kept


@st.composite
def stale_variants(draw: st.DrawFn, resource: Resource) -> Resource:
    """Draw an older version of `resource`: same address, another spec or trigger and hash."""
    spec = resource.spec
    spec["pass_threshold_pct"] = draw(st.sampled_from((50, 60)))
    lifecycle = resource.lifecycle
    if draw(st.booleans()):
        lifecycle = replace(lifecycle, triggers=(("dataset", canonical_json("v0")),))
    return Resource.build(
        address=resource.address, spec=spec, lifecycle=lifecycle, source=resource.source
    )


def _with_protect_label(labels: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({**dict(labels), LABEL_PROTECT: "true"}.items()))


@st.composite
def bland_runs_of(draw: st.DrawFn, resource: Resource) -> LiveRun:
    """Draw a Bland run of `resource`: managed (current or stale hash), foreign or unmanaged.

    Unmanaged runs carry the resource's adopt fingerprint (or another one), so `adopt: true`
    meets both runs it may adopt and runs it may not.
    """
    status = draw(_STATUSES)
    ownership = draw(
        st.sampled_from(("current", "current", "stale", "stale", "foreign", "unmanaged"))
    )
    labelled = resource
    if ownership == "stale":
        labelled = draw(stale_variants(resource))
    labels: tuple[tuple[str, str], ...] = ()
    if ownership != "unmanaged":
        workspace = OTHER_WORKSPACE if ownership == "foreign" else WORKSPACE
        labels = ownership_labels(labelled, workspace=workspace, request_id="r0")
        if draw(st.sampled_from((False, False, False, False, True))):
            labels = _with_protect_label(labels)
    adopt_key = resource.adopt_key if draw(st.booleans()) else "fingerprint-of-something-else"
    return LiveRun(
        vendor=Vendor.BLAND,
        run_id="",  # numbered by live_states, so ids are unique
        status=status,
        phase=RunPhase.from_status(status),
        created_at=draw(_PAST),
        labels=labels,
        adopt_key=adopt_key,
    )


@st.composite
def keyed_runs_of(draw: st.DrawFn, resource: Resource) -> LiveRun:
    """Draw an Adaline or Arize run with `resource`'s natural key, by us, someone else or nobody."""
    status = draw(_STATUSES)
    created_by = None
    if resource.vendor is Vendor.ARIZE:
        created_by = draw(st.sampled_from((None, OWNER, OWNER, OTHER_USER)))
    return LiveRun(
        vendor=resource.vendor,
        run_id="",
        status=status,
        phase=RunPhase.from_status(status),
        created_at=draw(_PAST),
        natural_key=resource.natural_key,
        created_by=created_by,
    )


@st.composite
def runs_of(draw: st.DrawFn, resource: Resource) -> LiveRun:
    """Draw one live run derived from `resource`, whatever its vendor."""
    if resource.vendor is Vendor.BLAND:
        return draw(bland_runs_of(resource))
    return draw(keyed_runs_of(resource))


@st.composite
def live_states(draw: st.DrawFn, desired: list[Resource], *, max_runs: int = 12) -> list[LiveRun]:
    """Draw the live runs of `desired` plus of a few undeclared resources (prune candidates).

    Several runs may derive from one resource (duplicates, history); run ids are unique and
    numbered in drawing order, which is unrelated to `created_at`.
    """
    undeclared = draw(st.lists(_RESOURCES, max_size=3))
    declared = {r.address for r in desired}
    pool = list(desired) * 3 + [r for r in undeclared if r.address not in declared]
    if not pool:
        return []
    sources = draw(st.lists(st.sampled_from(pool), max_size=max_runs))
    runs = [draw(runs_of(r)) for r in sources]
    return [replace(run, run_id=f"run-{i:03d}") for i, run in enumerate(runs)]


@st.composite
def plan_settings(draw: st.DrawFn) -> PlanSettings:
    """Draw settings: Arize owner or not, cancellation limit, mass-cancel flag, rare targeting."""
    owners: tuple[tuple[Vendor, str], ...] = draw(st.sampled_from(((), ((Vendor.ARIZE, OWNER),))))
    scoped = draw(st.sampled_from((False, False, False, False, True)))
    return PlanSettings(
        workspace=WORKSPACE,
        now=NOW,
        owners=owners,
        max_cancellations=draw(st.sampled_from((1, 3, 10))),
        allow_mass_cancel=draw(st.booleans()),
        targets=("BlandEvalRun/[ab]",) if scoped else (),
        excludes=("*/b",) if scoped and draw(st.booleans()) else (),
    )


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Resource], list[LiveRun], PlanSettings]:
    """Draw a whole planning problem: desired resources, live runs, settings."""
    desired = draw(desired_states())
    live = draw(live_states(desired))
    return desired, live, draw(plan_settings())


@st.composite
def staged_worlds(draw: st.DrawFn) -> tuple[list[Resource], list[LiveRun], PlanSettings]:
    """Draw a world whose resources wait for each other (`lifecycle.after`, never in a
    circle: only on resources before them), some renamed (`moved_from`), some released."""
    desired, live, config = draw(worlds())
    ordered = sorted(desired, key=lambda r: r.address)
    staged: list[Resource] = []
    for n, resource in enumerate(ordered):
        before = ordered[:n]
        after = (
            draw(st.lists(st.sampled_from(before), max_size=2, unique_by=lambda r: r.address))
            if before
            else []
        )
        moved: tuple[Address, ...] = ()
        if resource.vendor is Vendor.BLAND and draw(st.booleans()):
            former = Address(Kind.BLAND_EVAL_RUN, f"old-{resource.address.name}")
            moved = (former,)
        lifecycle = replace(
            resource.lifecycle,
            after=tuple(
                Stage(address=r.address, gates=draw(st.sampled_from(tuple(StageGate))))
                for r in after
            ),
            moved_from=moved,
        )
        staged.append(replace(resource, lifecycle=lifecycle))
    # Some runs carry a former address instead of the current one.
    renamed: list[LiveRun] = []
    for run in live:
        address = run.label(LABEL_ADDRESS)
        if address and draw(st.sampled_from((False, False, True))):
            kind, _, name = address.partition("/")
            labels = tuple(
                (k, f"{kind}/old-{name}" if k == LABEL_ADDRESS else v) for k, v in run.labels
            )
            run = replace(run, labels=labels)
        renamed.append(run)
    release = draw(st.sampled_from(((), (), ("BlandEvalRun/c*",), ("*/old-*",))))
    return staged, renamed, replace(config, release=release)
