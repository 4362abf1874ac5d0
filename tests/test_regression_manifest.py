"""Regression thresholds in manifests: what is accepted, and one clear line for what is not."""

from __future__ import annotations

from pathlib import Path

from reconciler.model import Threshold
from tests.test_manifest import loaded, problems_of, valid_bland


def thresholds(*lines: str) -> tuple[str, ...]:
    return ("thresholds:", *lines)


def test_regression_thresholds_are_parsed_with_their_baseline(tmp_path: Path) -> None:
    tail = thresholds(
        "  - {metric: pass_rate_pct, max_drop: 3, baseline: previous, confidence: 0.95}",
        "  - {metric: cost_usd, max_rise_pct: 20, baseline: {address: BlandEvalRun/main},"
        " on_missing_baseline: fail, max: 9}",
    )
    files = {"a.yaml": valid_bland(tail=tail), "main.yaml": valid_bland(name="main")}
    _, resource = loaded(tmp_path, files)
    assert (
        Threshold(metric="pass_rate_pct", max_drop=3, baseline="previous", confidence=0.95),
        Threshold(
            metric="cost_usd",
            max=9,
            max_rise_pct=20,
            baseline="BlandEvalRun/main",
            fail_on_missing_baseline=True,
        ),
    ) == resource.thresholds


def test_a_bound_in_the_good_direction_is_refused_with_the_right_key(tmp_path: Path) -> None:
    text = valid_bland(tail=thresholds("  - {metric: cost_usd, max_drop: 1, baseline: previous}"))
    assert [
        "a.yaml:10: thresholds[0].max_drop: cost_usd is better lower, so a regression is a rise,"
        " not what `max_drop` bounds. Use `max_rise` or `max_rise_pct`"
    ] == problems_of(tmp_path, text)


def test_a_regression_bound_on_a_metric_without_direction_is_refused(tmp_path: Path) -> None:
    text = valid_bland(
        tail=thresholds("  - {metric: sample_size, max_drop: 1, baseline: previous}")
    )
    assert [
        "a.yaml:10: thresholds[0].max_drop: sample_size has no direction (neither higher nor"
        " lower is better). Bound a change of one of pass_rate_pct, score_mean,"
        " error_rate_pct, failed_count, cost_usd, or use min/max"
    ] == problems_of(tmp_path, text)


def test_confidence_on_a_metric_without_a_sample_size_is_refused(tmp_path: Path) -> None:
    line = "  - {metric: score_mean, max_drop: 1, baseline: previous, confidence: 0.9}"
    assert [
        "a.yaml:10: thresholds[0].confidence: confidence needs a sample size, and score_mean is"
        " not a rate over one. Use it with `metric: pass_rate_pct` or `error_rate_pct`, or drop"
        " it"
    ] == problems_of(tmp_path, valid_bland(tail=thresholds(line)))


def test_a_baseline_address_that_is_not_declared_is_refused(tmp_path: Path) -> None:
    line = "  - {metric: cost_usd, max_rise: 1, baseline: {address: BlandEvalRun/main}}"
    assert [
        "a.yaml:1: thresholds[0].baseline.address: BlandEvalRun/main is not a declared resource,"
        " so it has no baseline value. Name a resource declared in the manifests, as Kind/name"
    ] == problems_of(tmp_path, valid_bland(tail=thresholds(line)))


def test_a_baseline_naming_the_resource_itself_is_refused(tmp_path: Path) -> None:
    line = "  - {metric: cost_usd, max_rise: 1, baseline: {address: BlandEvalRun/nightly}}"
    assert [
        "a.yaml:1: thresholds[0].baseline.address: names the resource itself."
        " Use `baseline: previous` for its own earlier runs"
    ] == problems_of(tmp_path, valid_bland(tail=thresholds(line)))


def test_a_bound_without_a_baseline_is_refused(tmp_path: Path) -> None:
    line = "  - {metric: pass_rate_pct, max_drop: 3}"
    assert [
        "a.yaml:10: thresholds[0].max_drop: `max_drop` needs `baseline` too."
        " Add `baseline` or remove `max_drop`"
    ] == problems_of(tmp_path, valid_bland(tail=thresholds(line)))


def test_a_misspelt_baseline_is_one_line_each_naming_the_fix(tmp_path: Path) -> None:
    lines = thresholds(
        "  - {metric: cost_usd, max_rise: 1, baseline: last}",
        "  - {metric: cost_usd, max_rise: 1, baseline: {adress: BlandEvalRun/x}}",
    )
    assert [
        "a.yaml:10: thresholds[0].baseline: must be previous, got last. Write previous",
        "a.yaml:11: thresholds[1].baseline.address: missing required field `address`."
        " Add `address`",
        "a.yaml:11: thresholds[1].baseline.adress: unknown field `adress`. Did you mean `address`?",
    ] == problems_of(tmp_path, valid_bland(tail=lines))
