"""Thresholds judged against the vendors' own published run objects, and Wilson bounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.gates import Verdict, evaluate, wilson_bounds
from reconciler.model import RunFields, RunMetrics, Threshold, Vendor
from reconciler.vendors.base import METRICS
from reconciler.vendors.registry import vendor_module
from tests.observed import observed

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def metrics_of(vendor: Vendor, obj: dict) -> RunMetrics:
    """Read a run object's metrics as its provider does, through the vendor's module."""
    return vendor_module(vendor).metrics(obj)


def progress_of(vendor: Vendor, obj: dict) -> tuple[int, int | None]:
    metrics = metrics_of(vendor, obj)
    return metrics.items_done, metrics.items_total


@pytest.fixture
def bland_complete() -> dict:
    return fixture("bland-list-runs.json")["data"]["data"][0]


@pytest.fixture
def bland_running() -> dict:
    return fixture("bland-list-runs.json")["data"]["data"][1]


class TestMetrics:
    def test_bland_metrics_come_from_the_summary_and_counts(self, bland_complete):
        """150 atoms, 1 without evidence, 2 failed calls x 3 judges: 143 scored, 39 matched."""
        metrics = metrics_of(Vendor.BLAND, bland_complete)
        assert 143 == metrics.sample_size
        assert pytest.approx(100 * 39 / 143) == metrics.pass_rate_pct
        assert pytest.approx(4.0) == metrics.error_rate_pct  # 2 of 50 calls
        assert (82.4, 2, 1.24) == (
            metrics.score_mean,
            metrics.failed_count,
            metrics.cost_usd,
        )

    def test_a_running_bland_run_has_no_metrics_yet(self, bland_running):
        """No summary yet: every metric is n/a, not zero."""
        running = metrics_of(Vendor.BLAND, bland_running)
        assert {None} == {running.value(name) for name in METRICS}

    def test_adaline_metrics_come_from_metrics_and_progress(self):
        """The published example: 123 each of pass, fail, unknown; 123 of 123 rows failed."""
        metrics = metrics_of(Vendor.ADALINE, fixture("adaline-cancel-evaluation.json"))
        assert pytest.approx(100 / 3) == metrics.pass_rate_pct
        assert (369, 100.0, 123.0, None) == (
            metrics.sample_size,
            metrics.error_rate_pct,
            metrics.cost_usd,
            metrics.score_mean,
        )

    def test_arize_gives_error_rate_and_nothing_it_cannot(self):
        """4,850 successes and 12 errors; no pass rate, no cost at Arize."""
        metrics = metrics_of(Vendor.ARIZE, fixture("arize-cancel-task-run.json"))
        assert pytest.approx(100 * 12 / 4862) == metrics.error_rate_pct
        assert (4862, 12, None, None) == (
            metrics.sample_size,
            metrics.failed_count,
            metrics.pass_rate_pct,
            metrics.cost_usd,
        )


class TestWilson:
    def test_five_of_ten_at_z_1_96_matches_the_textbook_interval(self):
        """The classic example: 5/10 at 95% two-sided gives [23.66%, 76.34%]."""
        low, high = wilson_bounds(5, 10, 0.975)
        assert (pytest.approx(23.66, abs=0.01), pytest.approx(76.34, abs=0.01)) == (low, high)

    def test_the_bound_tightens_as_the_sample_grows(self):
        """Same rate, more evidence: the lower bound rises toward the rate."""
        small, _ = wilson_bounds(8, 10, 0.95)
        large, _ = wilson_bounds(800, 1000, 0.95)
        assert small < large < 80

    def test_an_empty_sample_is_refused(self):
        """No sample, no bound."""
        with pytest.raises(ValueError, match="empty"):
            wilson_bounds(0, 0, 0.95)


class TestGates:
    def test_a_min_gate_passes_and_fails_on_the_value(self, bland_complete):
        """score_mean 82.4 clears 80 and misses 90."""
        passed = evaluate(
            Threshold(metric="score_mean", min=80), observed(Vendor.BLAND, bland_complete)
        )
        failed = evaluate(
            Threshold(metric="score_mean", min=90), observed(Vendor.BLAND, bland_complete)
        )
        assert (Verdict.PASSED, Verdict.FAILED) == (passed.verdict, failed.verdict)
        assert "82.4 is below 90" == failed.detail

    def test_a_max_gate_on_cost(self, bland_complete):
        """$1.24 is within $5 and over $1."""
        within = evaluate(
            Threshold(metric="cost_usd", max=5), observed(Vendor.BLAND, bland_complete)
        )
        over = evaluate(Threshold(metric="cost_usd", max=1), observed(Vendor.BLAND, bland_complete))
        assert (Verdict.PASSED, Verdict.FAILED) == (within.verdict, over.verdict)

    def test_a_path_gate_reads_any_vendor_field(self, bland_complete):
        """summary.overall_pass is true in the example."""
        gate = Threshold(path="summary.overall_pass", equals=True)
        assert Verdict.PASSED == evaluate(gate, observed(Vendor.BLAND, bland_complete)).verdict

    def test_a_missing_path_is_an_error_never_a_pass(self, bland_running):
        """The running run has no summary yet: n/a is an error."""
        gate = Threshold(path="summary.overall_pass", equals=True)
        result = evaluate(gate, observed(Vendor.BLAND, bland_running))
        assert Verdict.ERROR == result.verdict
        assert "n/a" in result.detail

    def test_a_metric_the_vendor_cannot_give_is_an_error(self):
        """Arize has no pass rate: the gate errs, it does not pass."""
        gate = Threshold(metric="pass_rate_pct", min=50)
        run = fixture("arize-cancel-task-run.json")
        assert Verdict.ERROR == evaluate(gate, observed(Vendor.ARIZE, run)).verdict

    def test_confidence_compares_the_wilson_lower_bound(self):
        """90% of 20 judged clears a min of 80 on the value, not on its 95% lower bound."""
        run = {"metrics": {"passRuns": 18, "failRuns": 2, "unknownRuns": 0}, "progress": {}}
        plain = evaluate(Threshold(metric="pass_rate_pct", min=80), observed(Vendor.ADALINE, run))
        bounded = evaluate(
            Threshold(metric="pass_rate_pct", min=80, confidence=0.95),
            observed(Vendor.ADALINE, run),
        )
        assert Verdict.PASSED == plain.verdict
        assert Verdict.FAILED == bounded.verdict
        assert bounded.bound is not None
        assert bounded.bound < 80
        assert 20 == bounded.sample_size

    def test_confidence_on_a_max_gate_compares_the_upper_bound(self):
        """0.25% errors over 4,862 items: the upper bound still clears a 1% ceiling."""
        gate = Threshold(metric="error_rate_pct", max=1, confidence=0.95)
        result = evaluate(gate, observed(Vendor.ARIZE, fixture("arize-cancel-task-run.json")))
        assert Verdict.PASSED == result.verdict
        assert result.bound is not None
        assert 0.25 < result.bound < 1

    def test_gate_names_read_like_the_manifest(self):
        """Reports show `metric >= min @ confidence`."""
        gate = Threshold(metric="pass_rate_pct", min=80, confidence=0.95)
        run = {"metrics": {"passRuns": 1, "failRuns": 0, "unknownRuns": 0}}
        assert "pass_rate_pct >= 80 @ 0.95" == evaluate(gate, observed(Vendor.ADALINE, run)).name


class TestProgress:
    def test_items_done_per_vendor(self, bland_complete, bland_running):
        """Bland atoms, Adaline rows, Arize items (with no total up front)."""
        assert (150, 150) == progress_of(Vendor.BLAND, bland_complete)
        assert (87, 200) == progress_of(Vendor.BLAND, bland_running)
        arize = fixture("arize-cancel-task-run.json")
        assert (5000, None) == progress_of(Vendor.ARIZE, arize)
        adaline = {"progress": {"totalRows": 40, "completedRows": 12, "failedRows": 1}}
        assert (13, 40) == progress_of(Vendor.ADALINE, adaline)


class TestPathThresholds:
    def test_a_path_to_an_object_is_n_a_not_a_comparison(self, bland_complete):
        """`path: summary` names an object, not a value: an error, never a pass or a fail."""
        result = evaluate(
            Threshold(path="summary", equals=True), observed(Vendor.BLAND, bland_complete)
        )
        assert (Verdict.ERROR, None) == (result.verdict, result.value)

    def test_a_path_into_a_list_reads_by_index(self):
        """`items.1.score` reads the second item, as the vendor's object holds it."""
        run = observed(Vendor.ARIZE, {"items": [{"score": 1}, {"score": 0.9}]})
        result = evaluate(Threshold(path="items.1.score", min=0.8), run)
        assert (Verdict.PASSED, 0.9) == (result.verdict, result.value)

    def test_a_whole_field_is_rebuilt_for_a_replace_to_show_its_old_value(self):
        """A list field of the old run reads back as the JSON it was, for the PR comment."""
        fields = RunFields.of({"call_ids": ["c1", "c2"], "metadata": {"a": "b"}})
        assert ('["c1","c2"]', '{"a":"b"}', None) == (
            fields.canonical("call_ids"),
            fields.canonical("metadata"),
            fields.canonical("missing"),
        )
