"""Bland's checks of a create or estimate body (bland.md §3.1, §11.13-16)."""

from __future__ import annotations

import re
from typing import Any

from reconciler.emulator.bland import catalogue
from reconciler.emulator.bland.envelope import error, invalid
from reconciler.emulator.bland.lifecycle import COST_PER_ATOM_USD, Atoms

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RUN_MODES = ("text", "audio", "full")
TRIGGERS = ("manual", "auto", "backfill")


def validate(body: object) -> tuple[dict[str, Any], Atoms]:
    """Check a create/estimate body as Bland does; return it normalised, and its atoms."""
    if not isinstance(body, dict):
        raise invalid("Request body must be a JSON object")
    calls = body.get("call_ids")
    if not isinstance(calls, list) or not all(isinstance(c, str) and c for c in calls):
        raise invalid("call_ids must be an array of call id strings")
    calls = list(dict.fromkeys(calls))
    if not 1 <= len(calls) <= 5000:
        raise invalid("call_ids must contain between 1 and 5000 call ids")
    agents = body.get("attached_agents")
    if agents is not None:
        if not isinstance(agents, list) or len(agents) > 50:
            raise invalid("attached_agents must be an array of at most 50 agents")
        for n, agent in enumerate(agents):
            _validate_agent(n, agent)
    run_mode = body.get("run_mode", "text")
    if run_mode not in RUN_MODES:
        raise invalid("run_mode must be one of text, audio, full")
    threshold = body.get("pass_threshold_pct")
    if threshold is not None and not _number_between(threshold, 0, 100):
        raise invalid("pass_threshold_pct must be a number between 0 and 100")
    setup_id = body.get("workbench_setup_id")
    setup_version_id = body.get("workbench_setup_version_id")
    if (setup_id is None) != (setup_version_id is None):
        raise invalid("workbench_setup_id and workbench_setup_version_id must be given together")
    for name, value in (
        ("workbench_setup_id", setup_id),
        ("workbench_setup_version_id", setup_version_id),
    ):
        if value is not None and (not isinstance(value, str) or not UUID.match(value)):
            raise invalid(f"{name} must be a UUID")
    if not agents and setup_version_id is None:
        raise invalid("attached_agents or workbench_setup_version_id is required")
    triggered_by = body.get("triggered_by", "manual")
    if triggered_by not in TRIGGERS:
        raise invalid("triggered_by must be one of manual, auto, backfill")
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise invalid("metadata keys and values must be strings")
    roster = _roster(agents, setup_id, setup_version_id)
    for call in calls:
        if not catalogue.call_exists(call):
            raise error(404, "CALL_NOT_FOUND", f"Call {call} not found")
    modalities = [m for _, m, _ in roster]
    matching = [m for m in modalities if run_mode == "full" or m == run_mode]
    if not matching:
        raise invalid(f"No attached agent scores run_mode {run_mode}")
    cost = sum(COST_PER_ATOM_USD[m] for m in matching) / len(matching)
    normalised = {
        "call_ids": calls,
        "attached_agents": [
            {"eval_agent_id": a, "eval_agent_version_id": v, **extra}
            for a, _, (v, extra) in ((a, m, e) for a, m, e in roster)
        ],
        "run_mode": run_mode,
        "pass_threshold_pct": threshold,
        "workbench_setup_id": setup_id,
        "workbench_setup_version_id": setup_version_id,
        "triggered_by": triggered_by,
        "metadata": metadata,
    }
    return normalised, Atoms(calls=len(calls), agents=len(matching), modality_cost=cost)


def _validate_agent(n: int, agent: object) -> None:
    where = f"attached_agents[{n}]"
    if not isinstance(agent, dict):
        raise invalid(f"{where} must be an object")
    agent_id = agent.get("eval_agent_id")
    if not isinstance(agent_id, str) or not UUID.match(agent_id):
        raise invalid(f"{where}.eval_agent_id must be a UUID")
    version = agent.get("eval_agent_version_id")
    if version is not None and (not isinstance(version, str) or not UUID.match(version)):
        raise invalid(f"{where}.eval_agent_version_id must be a UUID")
    weight = agent.get("weight")
    if weight is not None and not _number_between(weight, 0, 100):
        raise invalid(f"{where}.weight must be a number between 0 and 100")
    targets = agent.get("target_level_keys")
    if targets is not None and (
        not isinstance(targets, list) or not all(isinstance(t, str) for t in targets)
    ):
        raise invalid(f"{where}.target_level_keys must be an array of strings")


def _roster(
    agents: list[dict[str, Any]] | None, setup_id: object, setup_version_id: object
) -> list[tuple[str, str, tuple[str, dict[str, Any]]]]:
    """Resolve the judges of a run: (agent id, modality, (version id, weight/targets))."""
    if setup_version_id is not None:
        setup = catalogue.SETUPS.get(str(setup_id))
        if setup is None or setup.version_id != setup_version_id:
            raise error(404, "WORKBENCH_SETUP_NOT_FOUND", "Workbench setup not found")
        if not agents:
            agents = [{"eval_agent_id": a, "weight": 100} for a in setup.agent_ids]
    roster = []
    for agent in agents or []:
        known = catalogue.AGENTS.get(agent["eval_agent_id"])
        if known is None:
            raise error(404, "EVAL_AGENT_NOT_FOUND", "Eval agent not found")
        version = agent.get("eval_agent_version_id")
        if version is None:
            if known.published_version_id is None:
                raise invalid(f"Eval agent {known.id} has no published version")
            version = known.published_version_id
        elif catalogue.VERSIONS.get(version) != known.id:
            raise error(404, "EVAL_AGENT_VERSION_NOT_FOUND", "Eval agent version not found")
        extra = {
            "weight": agent.get("weight", 100),
            "target_level_keys": agent.get("target_level_keys", ["pass"]),
        }
        roster.append((known.id, known.modality, (version, extra)))
    return roster


def _number_between(value: object, low: float, high: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
