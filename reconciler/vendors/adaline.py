"""Adaline prompt evaluations: what reconciler knows about Adaline without calling it.

An evaluation carries no label, name or creator, so a run is known only by its natural key
(prompt, evaluator, dataset): matched, never provably ours. See shared/providers/adaline.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from reconciler.canonical import JSON
from reconciler.vendors._numbers import mapping, number, ratio, shared
from reconciler.vendors.base import IdentityMode, Kind, NaturalKey, RuleProblem, RunMetrics, Vendor

VENDOR = Vendor.ADALINE
KIND = Kind.ADALINE_EVALUATION
DISPLAY_NAME = "Adaline"
IDENTITY = IdentityMode.NATURAL_KEY
HISTORY_BY_CONTAINER = False  # prompt, evaluator and dataset
SCHEMA_FILE = "adaline-evaluation.schema.json"
# The default cap (its published limit) and why (docs/apply.md; reconciler.yaml's schema
# says it too). The pace starts at it and adapts to 429s under it.
REQUESTS_PER_SECOND: float | None = 100.0
PACE_NOTE = "Adaline allows 6,000 requests a minute on these APIs"
EMULATOR_SUFFIX = "/v2"  # Adaline's base URL ends in /v2


@lru_cache(maxsize=4096)
def key(*, prompt_id: str, evaluator_id: str, dataset_id: str) -> NaturalKey:
    """Key an Adaline evaluation: prompt, evaluator and dataset.

    Cached: the runs of one key share one key object instead of one each (a prompt's runs
    have a few keys; docs/performance.md, memory).
    """
    return NaturalKey(
        KIND, (("promptId", prompt_id), ("evaluatorId", evaluator_id), ("datasetId", dataset_id))
    )


def natural_key(spec: Mapping[str, JSON]) -> NaturalKey | None:
    """Return the key a spec declares; raise ValueError when a part is not a string."""
    return key(
        prompt_id=_text(spec, "promptId"),
        evaluator_id=_text(spec, "evaluatorId"),
        dataset_id=_text(spec, "datasetId"),
    )


def adopt_key(spec: Mapping[str, JSON]) -> str | None:
    """Return None: the natural key already matches unlabelled runs."""
    del spec
    return None


def metrics(run: Mapping[str, object]) -> RunMetrics:
    """Read an evaluation's metrics from `metrics` (judged runs) and `progress` (rows)."""
    judged_by = mapping(run, "metrics")
    progress = mapping(run, "progress")
    counts = [number(judged_by.get(k)) for k in ("passRuns", "failRuns", "unknownRuns")]
    judged = sum(c or 0.0 for c in counts) if any(c is not None for c in counts) else None
    rows = [number(progress.get(k)) for k in ("completedRows", "failedRows")]
    total = number(progress.get("totalRows"))
    return RunMetrics(
        pass_rate_pct=ratio(judged_by.get("passRuns"), judged),
        error_rate_pct=ratio(progress.get("failedRows"), progress.get("totalRows")),
        failed_count=number(progress.get("failedRows")),
        cost_usd=number(judged_by.get("totalCost")),
        sample_size=shared(judged) if judged else None,
        items_done=int(sum(r or 0.0 for r in rows)),
        items_total=int(total) if total is not None else None,
    )


def manifest_rules(spec: Mapping[str, JSON]) -> list[RuleProblem]:
    """Return no problems: the schema says everything about an Adaline spec."""
    del spec
    return []


def _text(spec: Mapping[str, JSON], name: str) -> str:
    value = spec.get(name)
    if not isinstance(value, str):
        raise ValueError(f"spec.{name} must be a string")
    return value
