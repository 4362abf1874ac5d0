"""Bland AI eval runs: what reconciler knows about Bland without calling it.

Runs carry our ownership labels in their write-once `metadata`, so Bland is the labelling
vendor: a run is provably ours. `lifecycle.adopt` matches an unlabelled run by what it
visibly evaluates (`adopt_key`). See shared/providers/bland.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reconciler.canonical import JSON, canonical_json, digest
from reconciler.vendors._numbers import mapping, number, ratio, shared
from reconciler.vendors.base import IdentityMode, Kind, NaturalKey, RuleProblem, RunMetrics, Vendor

VENDOR = Vendor.BLAND
KIND = Kind.BLAND_EVAL_RUN
DISPLAY_NAME = "Bland"
IDENTITY = IdentityMode.LABELS
HISTORY_BY_CONTAINER = False  # labelled runs: history is by address
SCHEMA_FILE = "bland-eval-run.schema.json"
# The default cap (its published limit; None: none published) and why (docs/apply.md;
# reconciler.yaml's schema says it too). Under it the pace adapts to 429s.
REQUESTS_PER_SECOND: float | None = None
PACE_NOTE = "Bland documents no limit for its evals API, so no cap: the pace adapts to its 429s"
EMULATOR_SUFFIX = ""


def natural_key(spec: Mapping[str, JSON]) -> NaturalKey | None:
    """Return None: Bland runs are identified by their labels."""
    del spec
    return None


def fingerprint(
    *,
    call_ids: Iterable[str],
    eval_agent_ids: Iterable[str],
    run_mode: str | None,
    workbench_setup_version_id: str | None,
) -> str:
    """Fingerprint what an unlabelled Bland run visibly evaluates, for `adopt: true`.

    Calls and agents are compared as sets, because Bland de-duplicates calls and the run
    object echoes agents in roster order with versions filled in.
    """
    calls: list[JSON] = list(sorted(set(call_ids)))
    agents: list[JSON] = list(sorted(set(eval_agent_ids)))
    return digest(
        canonical_json(
            {
                "call_ids": calls,
                "eval_agent_ids": agents,
                "run_mode": (run_mode or "text").lower(),
                "workbench_setup_version_id": workbench_setup_version_id,
            }
        )
    )


def adopt_key(spec: Mapping[str, JSON]) -> str | None:
    """Return the adopt fingerprint of a spec."""
    calls = spec.get("call_ids")
    agents = spec.get("attached_agents")
    setup_version = spec.get("workbench_setup_version_id")
    mode = spec.get("run_mode")
    agent_ids: list[str] = []
    for agent in agents if isinstance(agents, list) else []:
        if isinstance(agent, dict):
            agent_id = agent.get("eval_agent_id")
            if isinstance(agent_id, str):
                agent_ids.append(agent_id)
    return fingerprint(
        call_ids=[c for c in calls if isinstance(c, str)] if isinstance(calls, list) else [],
        eval_agent_ids=agent_ids,
        run_mode=mode if isinstance(mode, str) else None,
        workbench_setup_version_id=setup_version if isinstance(setup_version, str) else None,
    )


def run_adopt_key(run: Mapping[str, object]) -> str | None:
    """Return the adopt fingerprint of a full run object; None for a reduced list item."""
    calls = run.get("submitted_call_ids")
    agents = run.get("submitted_attached_agents")
    if not isinstance(calls, list) or not isinstance(agents, list):
        return None
    mode = run.get("run_mode")
    setup_version = run.get("workbench_setup_version_id")
    return fingerprint(
        call_ids=[str(c) for c in calls],
        eval_agent_ids=[str(a.get("eval_agent_id")) for a in agents if isinstance(a, dict)],
        run_mode=mode if isinstance(mode, str) else None,
        workbench_setup_version_id=setup_version if isinstance(setup_version, str) else None,
    )


def metrics(run: Mapping[str, object]) -> RunMetrics:
    """Read a run's metrics from its `summary` and counts; all n/a before the summary."""
    done = number(run.get("completed_atom_count"))
    total = number(run.get("resolved_atom_count"))
    items_done, items_total = int(done or 0), int(total) if total is not None else None
    summary = mapping(run, "summary")
    cost = number(run.get("billable_cost_usd"))
    if not summary:
        return RunMetrics(cost_usd=cost, items_done=items_done, items_total=items_total)
    # Atoms scored: completed evaluations minus those that found too little evidence and
    # those of calls that failed (a failed call fails each of its judges' atoms).
    completed = done or 0.0
    agents = number(run.get("resolved_agent_count")) or 0.0
    failed_calls = number(summary.get("failed_call_count")) or 0.0
    insufficient = number(summary.get("insufficient_evidence_count")) or 0.0
    scored = shared(max(completed - insufficient - failed_calls * agents, 0.0))
    return RunMetrics(
        pass_rate_pct=ratio(summary.get("target_match_count"), scored),
        score_mean=number(summary.get("overall_score_mean")),
        error_rate_pct=ratio(summary.get("failed_call_count"), run.get("resolved_call_count")),
        failed_count=number(summary.get("failed_call_count")),
        cost_usd=cost,
        sample_size=scored if scored else None,
        items_done=items_done,
        items_total=items_total,
    )


def manifest_rules(spec: Mapping[str, JSON]) -> list[RuleProblem]:
    """Return no problems: the schema says everything about a Bland spec."""
    del spec
    return []
