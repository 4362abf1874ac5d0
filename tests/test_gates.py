"""Thresholds judged against the vendors' own published run objects, and Wilson bounds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.gates import Outcome, Verdict, evaluate, wilson_bounds
from reconciler.model import (
    Address,
    Kind,
    Lifecycle,
    LiveRun,
    Resource,
    RunFields,
    RunMetrics,
    RunPhase,
    SourceLocation,
    Threshold,
    Vendor,
    ownership_labels,
)
from reconciler.status import judge
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


# --- regression gates: a baseline from the listed history ------------------------------------

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DROP3 = Threshold(metric="pass_rate_pct", max_drop=3, baseline="previous")

SPECS = {
    Kind.BLAND_EVAL_RUN: {"call_ids": ["c1"], "attached_agents": [{"eval_agent_id": "a"}]},
    Kind.ADALINE_EVALUATION: {"promptId": "p1", "evaluatorId": "e1", "datasetId": "d1"},
    Kind.ARIZE_TASK_RUN: {
        "task_id": "task-1",
        "data_start_time": "2026-10-01T00:00:00Z",
        "data_end_time": "2026-10-31T00:00:00Z",
    },
}
STATUS_WORDS = {
    Kind.BLAND_EVAL_RUN: {"ok": "COMPLETE", "failed": "FAILED", "cancelled": "CANCELLED"},
    Kind.ADALINE_EVALUATION: {"ok": "completed", "failed": "failed", "cancelled": "cancelled"},
    Kind.ARIZE_TASK_RUN: {"ok": "completed", "failed": "failed", "cancelled": "cancelled"},
}


RUNNING = {
    Kind.BLAND_EVAL_RUN: "RUNNING",
    Kind.ADALINE_EVALUATION: "running",
    Kind.ARIZE_TASK_RUN: "running",
}
OLDER_SPEC: dict[Kind, dict[str, object]] = {
    Kind.BLAND_EVAL_RUN: {"call_ids": ["c0"]},
    Kind.ADALINE_EVALUATION: {},
    Kind.ARIZE_TASK_RUN: {"data_end_time": "2026-10-30T00:00:00Z"},
}


def declared(kind: Kind, *thresholds: Threshold, name: str = "a", **spec: object) -> Resource:
    return Resource.build(
        address=Address(kind, name),
        spec={**SPECS[kind], **spec},
        lifecycle=Lifecycle(),
        thresholds=thresholds,
        source=SourceLocation(path="x.yaml", line=1),
    )


def ran(
    of: Resource,
    run_id: str,
    word: str,
    age_days: int,
    *,
    rate: float | None = None,
    n: int = 1000,
    status: str | None = None,
    spec_of: Resource | None = None,
) -> LiveRun:
    """A run of `of` (or of an older spec `spec_of`), `age_days` old, with a pass rate."""
    kind = of.address.kind
    text = status or STATUS_WORDS[kind][word]
    basis = spec_of or of
    return LiveRun(
        vendor=kind.vendor,
        run_id=run_id,
        status=text,
        phase=RunPhase.from_status(text) if kind is Kind.BLAND_EVAL_RUN else _phase(word),
        created_at=T0 - timedelta(days=age_days),
        labels=ownership_labels(basis, workspace="ws", request_id=run_id)
        if kind is Kind.BLAND_EVAL_RUN
        else (),
        natural_key=basis.natural_key,
        created_by="ws" if kind is not Kind.BLAND_EVAL_RUN else None,
        metrics=RunMetrics(pass_rate_pct=rate, sample_size=n, cost_usd=1.0),
    )


def _phase(word: str) -> RunPhase:
    return {
        "ok": RunPhase.SUCCEEDED,
        "failed": RunPhase.FAILED,
        "cancelled": RunPhase.CANCELLED,
        "running": RunPhase.ACTIVE,
    }[word]


def only_gate(resources, live):
    result = judge(resources, live, workspace="ws")
    status = next(s for s in result.resources if s.resource is resources[0])
    return result, status, status.gates[0]


@pytest.mark.parametrize("kind", list(SPECS))
class TestBaselineSelection:
    def test_the_baseline_is_the_newest_earlier_run_that_succeeded(self, kind):
        """Older good run 90 %, then a failed and a cancelled one: the 90 % run is compared."""
        old = declared(kind, DROP3, **OLDER_SPEC[kind])
        new = declared(kind, DROP3)
        live = [
            ran(old, "good", "ok", 5, rate=90.0),
            ran(old, "older-good", "ok", 9, rate=50.0),
            ran(old, "broke", "failed", 4, rate=10.0),
            ran(old, "stopped", "cancelled", 3, rate=10.0),
            ran(new, "current", "ok", 1, rate=85.0),
        ]
        result, status, gate = only_gate([new], live)
        assert gate.regression is not None
        assert ("good", 90.0) == (gate.regression.run_id, gate.regression.value)
        assert (Outcome.FAILED, 3) == (status.outcome, result.exit_code)
        assert "a drop of 5 (the change) is more than 3" == gate.detail

    def test_a_run_still_running_or_a_newer_one_is_never_the_baseline(self, kind):
        """A running run and a run newer than the current one are skipped: no baseline yet."""
        r = declared(kind, DROP3)
        other_spec = declared(kind, **OLDER_SPEC[kind])
        live = [
            ran(r, "busy", "running", 3, rate=99.0, status=RUNNING[kind], spec_of=other_spec),
            ran(r, "current", "ok", 1, rate=85.0),
            ran(r, "newer", "ok", 0, rate=99.0, spec_of=other_spec),
        ]
        if kind is Kind.ADALINE_EVALUATION:  # one key: any other run of it would be current
            live = [live[1]]
        _, status, gate = only_gate([r], live)
        assert gate.regression is not None
        assert gate.regression.run_id is None
        assert "no baseline yet (previous): on_missing_baseline is pass" == gate.regression.note
        assert Outcome.PASSED == status.outcome


class TestRegressionVerdicts:
    def test_a_small_drop_within_the_bound_passes(self):
        r = declared(Kind.BLAND_EVAL_RUN, DROP3)
        live = [ran(r, "base", "ok", 5, rate=90.0), ran(r, "current", "ok", 1, rate=88.0)]
        _, status, gate = only_gate([r], live)
        assert (Outcome.PASSED, -2.0) == (status.outcome, gate.regression.change)

    def test_a_missing_baseline_fails_when_the_threshold_says_so(self):
        strict = Threshold(
            metric="pass_rate_pct", max_drop=3, baseline="previous", fail_on_missing_baseline=True
        )
        r = declared(Kind.BLAND_EVAL_RUN, strict)
        result, status, gate = only_gate([r], [ran(r, "current", "ok", 1, rate=88.0)])
        assert (Outcome.FAILED, 3) == (status.outcome, result.exit_code)
        assert "no baseline yet (previous): on_missing_baseline is fail" == gate.detail

    def test_with_confidence_a_drop_that_may_be_real_fails_on_a_small_sample(self):
        """90 % -> 89 % on 100 items each: the Newcombe lower limit is far below -3."""
        gate_95 = Threshold(
            metric="pass_rate_pct", max_drop=3, baseline="previous", confidence=0.95
        )
        r = declared(Kind.BLAND_EVAL_RUN, gate_95)
        live = [ran(r, "b", "ok", 5, rate=90.0, n=100), ran(r, "c", "ok", 1, rate=89.0, n=100)]
        _, status, gate = only_gate([r], live)
        low, _high = gate.regression.interval
        assert Outcome.FAILED == status.outcome
        assert low == pytest.approx(100 * newcombe_low(89, 100, 90, 100))
        assert gate.detail.startswith(f"a drop of {-low:.4g} (the interval's far end)")

    def test_with_confidence_a_large_sample_shows_non_inferiority(self):
        """90 % -> 90 % on 20,000 items each: the lower limit is about -0.6, within 3."""
        gate_95 = Threshold(
            metric="pass_rate_pct", max_drop=3, baseline="previous", confidence=0.95
        )
        r = declared(Kind.BLAND_EVAL_RUN, gate_95)
        live = [
            ran(r, "b", "ok", 5, rate=90.0, n=20_000),
            ran(r, "c", "ok", 1, rate=90.0, n=20_000),
        ]
        _, status, _ = only_gate([r], live)
        assert Outcome.PASSED == status.outcome

    def test_a_percent_rise_of_cost_is_bounded_against_another_resource(self):
        """cost 1.30 against main's 1.00 with max_rise_pct 20: failed, main's run named."""
        cost = Threshold(metric="cost_usd", max_rise_pct=20, baseline="BlandEvalRun/main")
        pr = declared(Kind.BLAND_EVAL_RUN, cost, name="pr")
        main = declared(Kind.BLAND_EVAL_RUN, name="main", call_ids=["c2"])
        pr_run = ran(pr, "pr-run", "ok", 1, rate=90.0)
        pr_run = LiveRun(**{**_fields(pr_run), "metrics": RunMetrics(cost_usd=1.3)})
        live = [pr_run, ran(main, "main-run", "ok", 2, rate=90.0)]
        _, status, gate = only_gate([pr, main], live)
        assert (Outcome.FAILED, "main-run") == (status.outcome, gate.regression.run_id)
        assert "a rise of 0.3 (the change) is more than 20% of 1" == gate.detail


def _fields(run: LiveRun) -> dict:
    return {name: getattr(run, name) for name in LiveRun.__slots__}


def newcombe_low(x1, n1, x2, n2):
    from reconciler.stats import newcombe

    return newcombe(x1, n1, x2, n2, 0.95)[0]


@pytest.fixture
def regressed():
    """A 90 % baseline, a current 85 % run on 1,000 items: a 95 % Newcombe gate fails."""
    gate = Threshold(metric="pass_rate_pct", max_drop=3, baseline="previous", confidence=0.95)
    r = declared(Kind.BLAND_EVAL_RUN, gate)
    live = [ran(r, "base-run", "ok", 5, rate=90.0), ran(r, "cur-run", "ok", 1, rate=85.0)]
    return judge([r], live, workspace="ws")


class TestRegressionViews:
    def test_the_table_shows_baseline_change_interval_and_verdict(self, regressed):
        from reconciler.render.status import render_status_text

        line = render_status_text(regressed).splitlines()[1]
        assert line.startswith(
            "    FAIL  pass_rate_pct drop <= 3 vs previous @ 0.95 = 85"
            " vs previous base-run = 90, change -5 (95% interval -7.90 to -2.10)"
        )
        assert line.endswith("a drop of 7.903 (the interval's far end) is more than 3")
        assert 3 == regressed.exit_code

    def test_json_carries_the_baseline_and_validates(self, regressed):
        import jsonschema

        from reconciler.render.status import render_status_json

        schema = json.loads((FIXTURES.parents[1] / "schemas" / "status.schema.json").read_text())
        document = json.loads(render_status_json(regressed))
        jsonschema.validate(document, schema)
        baseline = document["resources"][0]["gates"][0]["baseline"]
        assert ("base-run", 90.0, -5.0) == (
            baseline["run_id"],
            baseline["value"],
            baseline["change"],
        )
        assert [-7.9, -2.1] == [round(v, 2) for v in baseline["interval"]]

    def test_markdown_shows_the_comparison_in_the_gate_row(self, regressed):
        from reconciler.render.status import render_status_markdown

        text = render_status_markdown(regressed)
        assert (
            "| pass_rate_pct drop <= 3 vs previous @ 0.95 **failed** | 85 vs previous"
            " base-run = 90, change -5 (95% interval -7.90 to -2.10) |"
        ) in text

    def test_junit_carries_the_comparison_as_properties(self, regressed):
        from xml.etree import ElementTree

        from reconciler.render.status import render_status_junit

        root = ElementTree.fromstring(render_status_junit(regressed))
        case = root.find(".//testcase")
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert {
            "baseline": "previous",
            "baseline_run": "base-run",
            "baseline_value": "90",
            "current_value": "85",
            "change": "-5",
            "interval_low": "-7.90321",
            "interval_high": "-2.10462",
            "confidence": "0.95",
            "verdict": "failed",
        } == properties
        assert case.find("failure") is not None


def test_a_finished_run_without_the_metric_is_skipped_for_an_earlier_one():
    """The newest earlier run reported no pass rate: the one before it is the baseline."""
    r = declared(Kind.BLAND_EVAL_RUN, DROP3)
    live = [
        ran(r, "older", "ok", 5, rate=90.0),
        ran(r, "no-rate", "ok", 3, rate=None),
        ran(r, "current", "ok", 1, rate=89.0),
    ]
    _, status, gate = only_gate([r], live)
    assert ("older", Outcome.PASSED) == (gate.regression.run_id, status.outcome)
