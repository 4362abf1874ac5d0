"""Each provider reads a run object once, at its border, into typed values.

`status` gates and progress lines use `LiveRun.metrics` and `LiveRun.fields` as the
provider made them from the vendor's published run objects; no layer above `providers/`
parses vendor JSON again (docs/architecture.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.model import LiveRun
from reconciler.providers.adaline import parse_evaluation
from reconciler.providers.arize import parse_task_run
from reconciler.providers.bland import parse_run

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def bland() -> LiveRun:
    return parse_run(fixture("bland-list-runs.json")["data"]["data"][0])


def adaline() -> LiveRun:
    return parse_evaluation(fixture("adaline-cancel-evaluation.json"), prompt_id="p")


def arize() -> LiveRun:
    return parse_task_run(fixture("arize-cancel-task-run.json"))


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        (bland, (82.4, 143.0, 150, 150)),
        (adaline, (None, 369.0, 246, 123)),
        (arize, (None, 4862.0, 5000, None)),
    ],
    ids=["bland", "adaline", "arize"],
)
def test_a_listed_run_carries_its_metrics_and_progress_read_once(read, expected):
    """Score, sample, items done and items in all, as the vendor's own run object says."""
    metrics = read().metrics
    actual = (metrics.score_mean, metrics.sample_size, metrics.items_done, metrics.items_total)
    assert expected == actual


@pytest.mark.parametrize(
    ("read", "path", "value"),
    [
        (bland, "summary.overall_pass", True),
        (adaline, "metrics.totalTokenCount", 123),
        (arize, "run_finished_at", "2026-03-07T10:35:22.000Z"),
    ],
    ids=["bland", "adaline", "arize"],
)
def test_a_path_threshold_reads_the_vendors_own_dotted_path(read, path, value):
    """Any scalar of the run object is kept at its vendor-native dotted path."""
    assert value == read().fields.get(path)


def test_a_run_keeps_no_vendor_json_text_for_the_layers_above():
    """The run object is parsed once: there is no raw text left for anyone to parse again."""
    run = bland()
    assert not hasattr(run, "raw")
    assert not hasattr(run, "raw_object")
