"""`reconciler history`: each resource's runs, newest first, as a table, JSON or Markdown.

A run shows its id, the vendor's status, when it was created (UTC), what it cost, and every
metric the resource's thresholds use ("n/a" where the vendor has not given it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from reconciler.canonical import format_instant
from reconciler.model import LiveRun, Resource
from reconciler.render import money
from reconciler.render.markdown import escape

FORMAT_VERSION = "1.0"
History = Sequence[tuple[Resource, Sequence[LiveRun]]]


def used_metrics(resource: Resource) -> tuple[str, ...]:
    """Return the metrics the resource's thresholds use, once each, in manifest order."""
    return tuple(dict.fromkeys(t.metric for t in resource.thresholds if t.metric is not None))


def _metric(run: LiveRun, metric: str) -> str:
    value = run.metrics.value(metric)
    if value is None:
        return "n/a"
    return money.usd(value) if metric == "cost_usd" else f"{value:.4g}"


def _cost(run: LiveRun) -> str:
    return money.UNKNOWN if run.cost_usd is None else money.usd(run.cost_usd)


def _cells(run: LiveRun, metrics: Sequence[str]) -> list[str]:
    cells = [run.run_id, run.status, format_instant(run.created_at), _cost(run)]
    return cells + [_metric(run, m) for m in metrics]


def render_history_text(history: History, *, last: int) -> str:
    """Render each resource's last `last` runs as an aligned table."""
    blocks: list[str] = []
    for resource, runs in history:
        metrics = used_metrics(resource)
        shown = list(runs[:last])
        head = f"{resource.address}: {len(runs)} run(s)"
        if len(runs) > len(shown):
            head += f", the newest {len(shown)} shown"
        rows = [["RUN", "STATUS", "CREATED", "COST", *metrics]]
        rows += [_cells(run, metrics) for run in shown]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = [head]
        if shown:
            lines += [
                "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                for row in rows
            ]
        else:
            lines.append("  no run yet: run `reconciler apply`")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def history_document(history: History, *, workspace: str, last: int) -> dict[str, object]:
    """Return the JSON document of `reconciler history`."""
    return {
        "format_version": FORMAT_VERSION,
        "workspace": workspace,
        "resources": [
            {
                "address": str(resource.address),
                "vendor": resource.vendor.value,
                "metrics": list(used_metrics(resource)),
                "total_runs": len(runs),
                "runs": [
                    {
                        "id": run.run_id,
                        "status": run.status,
                        "phase": run.phase.value,
                        "created_at": format_instant(run.created_at),
                        "cost_usd": run.cost_usd,
                        "metrics": {m: run.metrics.value(m) for m in used_metrics(resource)},
                    }
                    for run in runs[:last]
                ],
            }
            for resource, runs in history
        ],
    }


def render_history_json(history: History, *, workspace: str, last: int) -> str:
    """Render the history as versioned JSON."""
    document = history_document(history, workspace=workspace, last=last)
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def render_history_markdown(history: History, *, last: int) -> str:
    """Render the history as Markdown: a heading and a table per resource."""
    parts: list[str] = []
    for resource, runs in history:
        metrics = used_metrics(resource)
        shown = list(runs[:last])
        parts.append(f"#### `{resource.address}`: {len(runs)} run(s)")
        if not shown:
            parts.append("\nNo run yet.")
            continue
        header = ["run", "status", "created", "cost", *metrics]
        lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        lines += ["| " + " | ".join(escape(c) for c in _cells(r, metrics)) + " |" for r in shown]
        parts.append("\n" + "\n".join(lines))
    return "\n\n".join(parts) + "\n"
