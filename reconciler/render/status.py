"""A status result as a table, versioned JSON, a Markdown comment, or JUnit XML.

One result model, four views. JUnit: one testsuite per resource, one testcase per threshold;
a failed gate is a <failure> with the value and the bound, an n/a gate an <error>, a run
still active a <skipped>-free <error> ("still running"), so CI never reads silence as a pass.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree

from reconciler.gates import GateResult, Outcome, ResourceStatus, StatusResult, Verdict
from reconciler.render import money
from reconciler.render.markdown import CiRun, escape, marker
from reconciler.render.trend import mermaid_charts, trend_lines

FORMAT_VERSION = "1.0"
MAX_MARKDOWN = 65_536
_MARKS = {
    Outcome.PASSED: "✅",
    Outcome.FAILED: "❌",
    Outcome.ERROR: "⚠️",
    Outcome.RUNNING: "⏳",
}


def _value(gate: GateResult) -> str:
    if gate.value is None:
        return "n/a"
    if gate.threshold.metric == "cost_usd" and isinstance(gate.value, float):
        text = money.usd(gate.value)  # the same amount reads the same as in the plan
    elif isinstance(gate.value, float):
        text = f"{gate.value:.4g}"
    else:
        text = str(gate.value)
    if gate.bound is not None:
        text += f" (bound {gate.bound:.2f}, n={gate.sample_size})"
    return text


def _number(value: float, metric: str | None) -> str:
    return money.usd(value) if metric == "cost_usd" else f"{value:.4g}"


def _comparison(gate: GateResult) -> str:
    """Say what a regression gate compared: baseline run and value, change, interval."""
    r = gate.regression
    if r is None:
        return ""
    if r.run_id is None or r.value is None or r.change is None:
        return r.note
    metric = gate.threshold.metric
    change = (
        ("-" if r.change < 0 else "+") + money.usd(abs(r.change))
        if metric == "cost_usd"
        else f"{r.change:+.4g}"
    )
    text = f"vs {r.baseline} {r.run_id} = {_number(r.value, metric)}, change {change}"
    if r.interval is not None and r.confidence is not None:
        low, high = r.interval
        text += f" ({r.confidence:.0%} interval {low:+.2f} to {high:+.2f})"
    return text


def _value_and_change(gate: GateResult) -> str:
    comparison = _comparison(gate)
    return f"{_value(gate)} {comparison}" if comparison else _value(gate)


def _run(status: ResourceStatus) -> str:
    return f"{status.run.run_id} {status.run.status}" if status.run else "-"


def _costs(status: ResourceStatus) -> str:
    if status.cost_usd is None:
        return ""
    estimate = (
        f", estimated {money.estimate(status.estimate_usd)}"
        if status.estimate_usd is not None
        else ""
    )
    return f"  cost {money.usd(status.cost_usd)}{estimate}"


def render_status_text(result: StatusResult) -> str:
    """Render the result as a table for a terminal or a CI log."""
    lines: list[str] = []
    for status in result.resources:
        lines.append(
            f"{status.outcome.value.upper():8} {status.resource.address}  ({_run(status)})"
            + (f": {status.detail}" if status.detail else "")
            + _costs(status)
        )
        for gate in status.gates:
            mark = {"passed": "ok", "failed": "FAIL", "error": "ERROR"}[gate.verdict.value]
            detail = f"  {gate.detail}" if gate.detail else ""
            lines.append(f"    {mark:5} {gate.name} = {_value_and_change(gate)}{detail}")
        lines += trend_lines(status)
    lines += ["", result.summary]
    return "\n".join(lines) + "\n"


def status_document(result: StatusResult) -> dict[str, object]:
    """Return the JSON document of a status result (schemas/status.schema.json)."""
    return {
        "format_version": FORMAT_VERSION,
        "workspace": result.workspace,
        "exit_code": int(result.exit_code),
        "timed_out": result.timed_out,
        "elapsed_s": round(result.elapsed_s, 3),
        "counts": {o.value: result.count(o) for o in Outcome},
        "resources": [
            {
                "address": str(s.resource.address),
                "vendor": s.resource.vendor.value,
                "outcome": s.outcome.value,
                "detail": s.detail or None,
                "cost_usd": s.cost_usd,
                "estimate_usd": s.estimate_usd,
                "run": None
                if s.run is None
                else {"id": s.run.run_id, "status": s.run.status, "phase": s.run.phase.value},
                "gates": [
                    {
                        "name": g.name,
                        "metric": g.threshold.metric,
                        "path": g.threshold.path,
                        "verdict": g.verdict.value,
                        "value": g.value,
                        "bound": g.bound,
                        "sample_size": g.sample_size,
                        "detail": g.detail or None,
                        "baseline": _baseline_document(g),
                    }
                    for g in s.gates
                ],
            }
            for s in result.resources
        ],
    }


def _baseline_document(gate: GateResult) -> dict[str, object] | None:
    r = gate.regression
    if r is None:
        return None
    return {
        "name": r.baseline,
        "run_id": r.run_id,
        "value": r.value,
        "change": r.change,
        "interval": list(r.interval) if r.interval is not None else None,
        "confidence": r.confidence,
        "note": r.note,
    }


def render_status_json(result: StatusResult) -> str:
    """Render the result as versioned JSON."""
    return json.dumps(status_document(result), indent=2, sort_keys=True) + "\n"


def render_status_markdown(
    result: StatusResult,
    *,
    limit: int = MAX_MARKDOWN,
    with_marker: bool = True,
    ci: CiRun | None = None,
) -> str:
    """Render the result as a pull-request comment (one table, at most `limit` characters).

    Without the marker it is the second half of a comment that starts with the plan (whose
    header already names the commit and the CI run).
    """
    head = [
        *([marker(result.workspace)] if with_marker else []),
        f"### reconciler status for `{result.workspace}`",
        *(["", ci.line()] if ci is not None and with_marker else []),
        "",
        f"**{result.summary}**",
        "",
        "| | resource | run | cost | gate | value |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    rows: list[str] = []
    for status in result.resources:
        first = (
            f"| {_MARKS[status.outcome]} | `{status.resource.address}` | {escape(_run(status))} |"
        )
        cost = escape(_costs(status).strip().removeprefix("cost "))
        if not status.gates:
            rows.append(f"{first} {cost} | {escape(status.detail or '-')} | |")
        for gate in status.gates:
            mark = "" if gate.verdict is Verdict.PASSED else f" **{gate.verdict.value}**"
            value = escape(_value_and_change(gate))
            rows.append(f"{first} {cost} | {escape(gate.name)}{mark} | {value} |")
            first, cost = "| | | |", ""  # the resource's own cells once, on its first row
    text = "\n".join(head)
    shown = 0
    for row in rows:
        if len(text) + len(row) + 400 > limit:
            break
        text += "\n" + row
        shown += 1
    # The charts come after every row, so they are the first thing cut to fit.
    charts = [chart for status in result.resources for chart in mermaid_charts(status)]
    drawn = 0
    if shown == len(rows) and charts:
        section = "\n\n#### Trends of the gated metrics (last finished runs, oldest first)\n"
        for chart in charts:
            if len(text) + len(section) + len(chart) + 400 > limit:
                break
            section += "\n" + chart + "\n"
            drawn += 1
        if drawn:
            text += section.rstrip("\n")
    if drawn < len(charts):
        text += (
            f"\n\n_{len(charts) - drawn} of {len(charts)} trend chart(s) are not shown, to keep"
            f" the comment within {MAX_MARKDOWN:,} characters; the table's rows come first._"
        )
    if shown < len(rows):
        text += (
            f"\n\n_{len(rows) - shown} of {len(rows)} row(s) are not shown: a comment holds at "
            f"most {MAX_MARKDOWN:,} characters. See the CI log for all of them._"
        )
    return text + "\n"


def render_status_junit(result: StatusResult) -> str:
    """Render the result as JUnit XML: a testsuite per resource, a testcase per threshold."""
    suites = ElementTree.Element("testsuites", name=f"reconciler {result.workspace}")
    for status in result.resources:
        suite = ElementTree.SubElement(suites, "testsuite", name=str(status.resource.address))
        cases = _cases(status)
        failures = sum(1 for _, kind, _ in cases if kind == "failure")
        errors = sum(1 for _, kind, _ in cases if kind == "error")
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        for (name, kind, message), gate in zip(cases, _gates_of(status, cases), strict=True):
            case = ElementTree.SubElement(
                suite, "testcase", name=name, classname=str(status.resource.address)
            )
            _properties(case, gate)
            if kind:
                ElementTree.SubElement(case, kind, message=message).text = message
    suites.set("tests", str(sum(int(s.get("tests", "0")) for s in suites)))
    suites.set("failures", str(sum(int(s.get("failures", "0")) for s in suites)))
    suites.set("errors", str(sum(int(s.get("errors", "0")) for s in suites)))
    xml: str = ElementTree.tostring(suites, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml + "\n"


def _gates_of(status: ResourceStatus, cases: list[tuple[str, str, str]]) -> list[GateResult | None]:
    """Pair each testcase with its gate (None for a case that stands for the run)."""
    if len(cases) == len(status.gates):
        return list(status.gates)
    return [None] * len(cases)


def _properties(case: ElementTree.Element, gate: GateResult | None) -> None:
    """Carry a regression gate's comparison as testcase properties."""
    if gate is None or gate.regression is None:
        return
    r = gate.regression
    values: dict[str, object] = {
        "baseline": r.baseline,
        "baseline_run": r.run_id,
        "baseline_value": r.value,
        "current_value": gate.value,
        "change": r.change,
        "interval_low": r.interval[0] if r.interval else None,
        "interval_high": r.interval[1] if r.interval else None,
        "confidence": r.confidence,
        "verdict": gate.verdict.value,
        "note": r.note or None,
    }
    properties = ElementTree.SubElement(case, "properties")
    for name, value in values.items():
        if value is not None:
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
            ElementTree.SubElement(properties, "property", name=name, value=shown)


def _cases(status: ResourceStatus) -> list[tuple[str, str, str]]:
    """Return (name, "" | "failure" | "error", message) per testcase of a resource."""
    if status.outcome is Outcome.RUNNING:
        return [("run finished", "error", f"still running: {_run(status)}")]
    if not status.gates:
        by_outcome = {Outcome.PASSED: "", Outcome.FAILED: "failure", Outcome.ERROR: "error"}
        return [("run", by_outcome.get(status.outcome, "error"), status.detail or _run(status))]
    cases = []
    for gate in status.gates:
        kind = {Verdict.PASSED: "", Verdict.FAILED: "failure", Verdict.ERROR: "error"}[gate.verdict]
        message = f"{_value(gate)}: {gate.detail}" if gate.detail else _value(gate)
        cases.append((gate.name, kind, message))
    return cases
