"""Trends of the gated metrics: a Mermaid `xychart-beta` block for the PR comment, a sparkline
for the terminal.

The series is a resource's last finished runs up to its current one, oldest first
(`ResourceStatus.trend`); a run that has no value for the metric is left out. The chart's
x-axis labels each run by its UTC creation day and time, except the current run and the
baseline of a regression gate, labelled "current" and "baseline" (an xychart has no
annotations, and a longer label would overlap its neighbours).

The block is written to a strict subset of Mermaid's xychart grammar (every string quoted,
with no `"` inside; every number plain decimal), which tests/test_trend.py checks line by
line and against golden files.
"""

from __future__ import annotations

from reconciler.gates import ResourceStatus
from reconciler.model import LiveRun

_BARS = "▁▂▃▄▅▆▇█"
_PERCENT = ("pass_rate_pct", "error_rate_pct")
# Small, and a line that reads on GitHub's light and dark themes (the default is near white).
_INIT = (
    '%%{init: {"xyChart": {"width": 560, "height": 240}, '
    '"themeVariables": {"xyChart": {"plotColorPalette": "#0969da"}}}}%%'
)


def gated_metrics(status: ResourceStatus) -> tuple[str, ...]:
    """Return the metrics the resource's thresholds gate, once each, in manifest order."""
    seen: dict[str, None] = {}
    for threshold in status.resource.thresholds:
        if threshold.metric is not None and threshold.metric != "sample_size":
            seen.setdefault(threshold.metric, None)
    return tuple(seen)


def series(status: ResourceStatus, metric: str) -> list[tuple[LiveRun, float]]:
    """Return (run, value) for each run of the trend that has the metric, oldest first."""
    points = []
    for run in status.trend:
        value = run.metrics.value(metric)
        if value is not None:
            points.append((run, value))
    return points


def sparkline(values: list[float]) -> str:
    """Return one block character per value, scaled between the series' least and most."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high - low < 1e-12:
        return _BARS[3] * len(values)
    steps = len(_BARS) - 1
    return "".join(_BARS[round((v - low) / (high - low) * steps)] for v in values)


def trend_lines(status: ResourceStatus) -> list[str]:
    """Return the terminal table's trend lines of a resource (none without a history)."""
    lines = []
    for metric in gated_metrics(status):
        points = series(status, metric)
        if len(points) < 2:
            continue
        values = [v for _, v in points]
        lines.append(
            f"    trend {metric} {sparkline(values)}  {_plain(values[0])} -> {_plain(values[-1])}"
            f" over the last {len(values)} finished run(s)"
        )
    return lines


def _baselines(status: ResourceStatus) -> set[str]:
    return {
        g.regression.run_id
        for g in status.gates
        if g.regression is not None and g.regression.run_id is not None
    }


def mermaid_charts(status: ResourceStatus) -> list[str]:
    """Return one fenced Mermaid xychart block per gated metric with at least two points."""
    charts = []
    current = status.run.run_id if status.run is not None else None
    baselines = _baselines(status)
    for metric in gated_metrics(status):
        points = series(status, metric)
        if len(points) < 2:
            continue
        labels = []
        for run, _ in points:
            if run.run_id == current:
                label = "current"
            elif run.run_id in baselines:
                label = "baseline"
            else:
                label = run.created_at.strftime("%m-%d %H:%M")
            labels.append(_quoted(label))
        values = [v for _, v in points]
        if metric in _PERCENT:
            axis = f'    y-axis "{metric}" 0 --> 100'
        else:
            low, high = min(values), max(values)
            pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
            axis = f'    y-axis "{metric}" {_plain(max(low - pad, 0.0) if low >= 0 else low - pad)}'
            axis += f" --> {_plain(high + pad)}"
        charts.append(
            "\n".join(
                [
                    "```mermaid",
                    _INIT,
                    "xychart-beta",
                    f"    title {_quoted(f'{status.resource.address}: {metric}')}",
                    f"    x-axis [{', '.join(labels)}]",
                    axis,
                    f"    line [{', '.join(_plain(v) for v in values)}]",
                    "```",
                ]
            )
        )
    return charts


def _quoted(text: str) -> str:
    """Quote a label for Mermaid: its strings cannot hold a double quote or a newline."""
    cleaned = text.replace('"', "'").replace("\n", " ")
    return f'"{cleaned}"'


def _plain(value: float) -> str:
    """Write a number as Mermaid reads it: plain decimal, no exponent, at most 4 decimals."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
