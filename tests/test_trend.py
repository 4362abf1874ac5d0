"""Trend charts and sparklines: Mermaid's xychart grammar, golden files, the comment's budget."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from reconciler.model import Kind, LiveRun, RunMetrics, Threshold
from reconciler.render.status import render_status_markdown, render_status_text
from reconciler.render.trend import mermaid_charts, sparkline
from reconciler.status import judge
from tests.test_gates import T0, declared, ran

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden"
NUMBER = r"-?\d+(?:\.\d+)?"
STRING = r'"[^"\n]*"'
# The subset of Mermaid's xychart-beta grammar (mermaid 11, xychart.jison) the renderer writes.
GRAMMAR = [
    r"```mermaid",
    r"%%\{init: (?P<init>\{.*\})\}%%",
    r"xychart-beta",
    rf"    title {STRING}",
    rf"    x-axis \[(?P<labels>{STRING}(?:, {STRING})*)\]",
    rf"    y-axis {STRING} {NUMBER} --> {NUMBER}",
    rf"    line \[(?P<values>{NUMBER}(?:, {NUMBER})*)\]",
    r"```",
]
GATES = (
    Threshold(metric="pass_rate_pct", max_drop=3, baseline="previous"),
    Threshold(metric="cost_usd", max=5),
)


def assert_xychart(block: str) -> None:
    """Check one fenced block line by line against the grammar; labels and values pair up."""
    lines = block.split("\n")
    assert len(GRAMMAR) == len(lines), block
    found: dict[str, str] = {}
    for pattern, line in zip(GRAMMAR, lines, strict=True):
        match = re.fullmatch(pattern, line)
        assert match, f"{line!r} is not {pattern!r}"
        found.update({k: v for k, v in match.groupdict().items() if v is not None})
    json.loads(found["init"].replace("init: ", ""))
    assert len(re.findall(STRING, found["labels"])) == len(found["values"].split(", "))


def history(rates: list[float], costs: list[float]):
    r = declared(Kind.BLAND_EVAL_RUN, *GATES)
    live = []
    for n, (rate, cost) in enumerate(zip(rates, costs, strict=True)):
        run = ran(r, f"run-{n}", "ok", len(rates) - n, rate=rate)
        metrics = RunMetrics(pass_rate_pct=rate, sample_size=1000, cost_usd=cost)
        live.append(_with(run, metrics=metrics, created_at=T0 - timedelta(hours=len(rates) - n)))
    live.append(ran(r, "broken", "failed", 0, rate=0.0))  # never on the chart
    return judge([r], live, workspace="ws")


def _with(run: LiveRun, **changes: object) -> LiveRun:
    return LiveRun(**{**{k: getattr(run, k) for k in LiveRun.__slots__}, **changes})


def test_the_comment_chart_matches_the_golden_file_and_mermaids_grammar():
    result = history([90.0, 92.5, 91.0, 88.0], [1.0, 1.2, 1.1, 1.5])
    text = render_status_markdown(result)
    charts = re.findall(r"```mermaid\n.*?\n```", text, flags=re.S)
    assert 2 == len(charts)
    for chart in charts:
        assert_xychart(chart)
    assert (GOLDEN / "status-trend.md").read_text() == text


def test_the_baseline_and_the_current_run_are_marked_on_the_axis():
    (status,) = history([90.0, 92.5, 91.0, 88.0], [1.0, 1.2, 1.1, 1.5]).resources
    chart = mermaid_charts(status)[0]
    assert '    x-axis ["10-31 20:00", "10-31 21:00", "baseline", "current"]' in chart
    assert "    line [90, 92.5, 91, 88]" in chart


def test_a_resource_without_history_has_no_chart():
    (status,) = history([90.0], [1.0]).resources
    assert [] == mermaid_charts(status)


def test_labels_cannot_break_out_of_their_quotes():
    from reconciler.render.trend import _quoted

    assert '"a\'b c"' == _quoted('a"b\nc')


def test_the_terminal_table_shows_a_sparkline_of_the_same_series():
    text = render_status_text(history([90.0, 92.5, 91.0, 88.0], [1.0, 1.2, 1.1, 1.5]))
    assert "    trend pass_rate_pct ▄█▆▁  90 -> 88 over the last 4 finished run(s)" in text
    assert "    trend cost_usd ▁▄▂█  1 -> 1.5 over the last 4 finished run(s)" in text


@pytest.mark.parametrize(("values", "line"), [([1.0, 1.0], "▄▄"), ([0.0, 1.0], "▁█"), ([], "")])
def test_a_sparkline_scales_between_the_least_and_the_most(values, line):
    assert line == sparkline(values)


def test_charts_are_cut_before_any_row_and_the_note_says_so():
    """Many resources with history: every row fits, the charts give way first."""
    resources, live = [], []
    for n in range(400):
        r = declared(Kind.BLAND_EVAL_RUN, *GATES, name=f"r{n:04d}", call_ids=[f"c{n}"])
        resources.append(r)
        live += [ran(r, f"{n}-a", "ok", 3, rate=90.0), ran(r, f"{n}-b", "ok", 1, rate=89.0)]
    text = render_status_markdown(judge(resources, live, workspace="ws"))
    assert len(text) <= 65_536
    assert "row(s) are not shown" not in text
    assert "trend chart(s) are not shown, to keep the comment within 65,536 characters" in text
    assert 0 < text.count("```mermaid") < 800
