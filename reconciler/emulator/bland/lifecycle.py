"""How a Bland run lives: its fate drawn from the seed, and what it shows at a moment.

Runs are stored once, at creation, with what they were asked to do; their status, progress,
summary and cost are computed when read, from the age of the run (the emulator's clock times
`time_scale`) and a random stream seeded by the emulator seed and the run id. So the same seed
gives the same scores and outcomes, and a run read twice at the same moment reads the same.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.bland import catalogue
from reconciler.emulator.formats import instant

STATUSES = ("PENDING", "QUEUED", "RUNNING", "COMPLETE", "PARTIAL", "FAILED", "CANCELLED")
ACTIVE = ("PENDING", "QUEUED", "RUNNING")
FINISHED = ("COMPLETE", "PARTIAL", "FAILED")
COST_PER_ATOM_USD = {"text": 0.002, "audio": 0.006}


@dataclass(frozen=True, slots=True)
class Atoms:
    """What a run evaluates, fixed at creation."""

    calls: int
    agents: int
    modality_cost: float

    @property
    def count(self) -> int:
        return self.calls * self.agents


@dataclass(frozen=True, slots=True)
class Timeline:
    """A run's fate, drawn once from the seed: phase lengths (emulated s) and its outcome."""

    pending_s: float
    queued_s: float
    running_s: float
    outcome: str  # COMPLETE | PARTIAL | FAILED
    score_mean: float
    match_rate: float
    failed_calls: int
    insufficient: int


def draw_timeline(seed: int, run_id: str, atoms: Atoms) -> Timeline:
    """Draw a run's fate from the seed and its id."""
    rng = random.Random(f"{seed}:{run_id}")
    draw = rng.random()
    outcome = "FAILED" if draw < 0.05 else "PARTIAL" if draw < 0.15 else "COMPLETE"
    failed_calls = 0
    if outcome == "PARTIAL":
        failed_calls = max(1, round(atoms.calls * rng.uniform(0.1, 0.4)))
        failed_calls = min(failed_calls, max(atoms.calls - 1, 1))
    elif rng.random() < 0.2:
        failed_calls = min(1, atoms.calls - 1)
    return Timeline(
        pending_s=rng.uniform(2, 6),
        queued_s=rng.choice((0.0, rng.uniform(5, 20))),
        running_s=20 + atoms.count * rng.uniform(1.0, 3.0),
        outcome=outcome,
        score_mean=round(rng.uniform(55, 97), 2),
        match_rate=rng.uniform(0.6, 0.98),
        failed_calls=failed_calls,
        insufficient=rng.choice((0, 0, 0, 1)),
    )


class Lifecycle:
    """Computes runs' views at the clock's moment, drawing (and keeping) each run's fate."""

    def __init__(self, *, seed: int, time_scale: float) -> None:
        self._seed = seed
        self._time_scale = time_scale
        self._timelines: dict[str, Timeline] = {}

    def view(
        self,
        run_id: str,
        request: Mapping[str, Any],
        *,
        created: float,
        cancelled: float | None,
        now: float,
    ) -> dict[str, Any]:
        """Compute a run's status, progress, summary and cost at `now`."""
        agents = [
            a
            for a in request["attached_agents"]
            if request["run_mode"] == "full"
            or catalogue.AGENTS[a["eval_agent_id"]].modality == request["run_mode"]
        ]
        atoms = Atoms(len(request["call_ids"]), len(agents), 0.0)
        timeline = self._timelines.get(run_id)
        if timeline is None:
            timeline = self._timelines[run_id] = draw_timeline(self._seed, run_id, atoms)
        age = (now - created) * self._time_scale
        stop_age = (cancelled - created) * self._time_scale if cancelled is not None else None
        at = min(age, stop_age) if stop_age is not None else age
        start = timeline.pending_s
        run_start = start + timeline.queued_s
        end = run_start + timeline.running_s
        done = 0
        if at >= run_start:
            done = min(atoms.count, int(atoms.count * (at - run_start) / timeline.running_s))
        if stop_age is not None and stop_age < end:
            status = "CANCELLED"
        elif at >= end:
            status = timeline.outcome
            done = atoms.count
        elif at >= run_start:
            status = "RUNNING"
        elif at >= start:
            status = "QUEUED"
        else:
            status = "PENDING"
        started = created + start / self._time_scale if at >= start else None
        completed: float | None = None
        if status == "CANCELLED":
            completed = cancelled
        elif status in FINISHED:
            completed = created + end / self._time_scale
        summary = None
        cost = None
        cost_per_atom = sum(
            COST_PER_ATOM_USD[catalogue.AGENTS[a["eval_agent_id"]].modality] for a in agents
        ) / max(len(agents), 1)
        if status in ("COMPLETE", "PARTIAL") or (status == "CANCELLED" and done > 0):
            modalities = {catalogue.AGENTS[a["eval_agent_id"]].modality for a in agents}
            summary = _summary(request, timeline, atoms, done, modalities)
            cost = round(done * cost_per_atom, 4)
        elif status == "FAILED":
            cost = round(atoms.count * cost_per_atom * 0.1, 4)
        return {
            "status": status,
            "resolved_call_count": atoms.calls,
            "resolved_agent_count": atoms.agents,
            "resolved_atom_count": atoms.count,
            "completed_atom_count": 0 if status == "FAILED" else done,
            "summary": summary,
            "billable_cost_usd": cost,
            "error_code": "JUDGE_PROVIDER_ERROR" if status == "FAILED" else None,
            "error_message": "Every judge call failed" if status == "FAILED" else None,
            "created_at": instant(created),
            "started_at": instant(started) if started is not None else None,
            "completed_at": instant(completed) if completed is not None else None,
        }


def _summary(
    request: Mapping[str, Any],
    timeline: Timeline,
    atoms: Atoms,
    done: int,
    modalities: set[str],
) -> dict[str, Any]:
    share = done / atoms.count if atoms.count else 0.0
    failed_calls = round(timeline.failed_calls * share)
    scored_calls = max(round(atoms.calls * share) - failed_calls, 0)
    scored_atoms = scored_calls * atoms.agents
    mean = timeline.score_mean if scored_calls else None
    threshold = request.get("pass_threshold_pct")
    return {  # a modality's mean exists only if a judge of that modality scored (§5)
        "overall_score_mean": mean,
        "text_score_mean": mean if "text" in modalities else None,
        "audio_score_mean": mean if "audio" in modalities else None,
        "successful_call_count": scored_calls,
        "failed_call_count": failed_calls,
        "insufficient_evidence_count": min(timeline.insufficient, scored_atoms),
        # A match needs evidence: atoms that found too little of it are never target matches.
        "target_match_count": round(
            (scored_atoms - min(timeline.insufficient, scored_atoms)) * timeline.match_rate
        ),
        "pass_threshold_pct": threshold,
        "overall_pass": None if threshold is None or mean is None else mean >= threshold,
    }
