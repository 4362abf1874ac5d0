"""A plan as a pull-request comment: summary and cancels first, details folded, size-capped.

GitHub refuses comments longer than 65,536 characters. Whatever the plan's size, the comment
keeps its head (marker, summary, refusal) and drops detail first: the rows of each vendor's
table, then cancels, ending with a visible note of how much was left out. The hidden marker
`<!-- reconciler:<workspace> -->` lets CI find and update one comment in place.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.model import Action, Change, Plan, Vendor
from reconciler.render.text import REASONS, cost_line, format_cost

MAX_CHARS = 65_536
FOOTER_RESERVE = 400  # room kept for the note of what was left out
SYMBOLS = {
    Action.CREATE: "+ create",
    Action.CANCEL: "- cancel",
    Action.REPLACE: "-/+ replace",
    Action.NO_OP: "keep",
}


def marker(workspace: str) -> str:
    """Return the hidden marker CI searches for to update the comment in place."""
    return f"<!-- reconciler:{workspace} -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _why(change: Change) -> str:
    why = REASONS[change.reason]
    if change.changed:
        fields = ", ".join(f"`{d.path}`" for d in change.changed)
        why += f": {fields}"
    return why


def _cancel_line(change: Change) -> str:
    run = f", run `{change.run_id}`" if change.run_id else ""
    return (
        f"- **{SYMBOLS[change.action]} `{_cell(change.subject)}`** "
        f"({change.vendor.display_name}{run}: {_why(change)})"
    )


def _row(change: Change) -> str:
    run = f"`{change.run_id}`" if change.run_id else ""
    cost = format_cost(change.cost_usd) if change.creates else ""
    return (
        f"| {SYMBOLS[change.action]} | `{_cell(change.subject)}` | {run} | {cost} "
        f"| {_cell(_why(change))} |"
    )


class _Budget:
    """Lines added while they fit in the character limit; counts what did not."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.lines: list[str] = []
        self.left_out = 0

    def fits(self, text: str) -> bool:
        return self.used + len(text) + 1 <= self.limit

    def add(self, text: str, *, required: bool = False) -> bool:
        if required or self.fits(text):
            self.lines.append(text)
            self.used += len(text) + 1
            return True
        return False


def render_markdown(plan: Plan, *, limit: int = MAX_CHARS) -> str:
    """Render `plan` as a Markdown comment of at most `limit` characters."""
    budget = _Budget(limit - FOOTER_RESERVE)
    budget.add(marker(plan.workspace), required=True)
    budget.add(f"### reconciler plan for `{plan.workspace}`", required=True)
    budget.add("", required=True)
    budget.add(f"**{plan.summary}**", required=True)
    cost = cost_line(plan)
    if cost is not None:
        budget.add("", required=True)
        budget.add(cost, required=True)
    for refusal in (plan.refusal, plan.cost_refusal):
        if refusal:
            budget.add("", required=True)
            budget.add(f"**Refused:** {refusal}", required=True)
    if plan.targeted:
        budget.add("", required=True)
        budget.add("_Partial plan: `--target`/`--exclude` limited it._", required=True)
    cancels = [c for c in plan.actions if c.cancels]
    shown_cancels = 0
    if cancels:
        budget.add("", required=True)
        budget.add(f"**{len(cancels)} run(s) will be cancelled:**", required=True)
        for change in cancels:
            if not budget.add(_cancel_line(change)):
                break
            shown_cancels += 1
    if plan.counts or plan.notes:
        budget.add("")
    for counts in plan.counts:
        budget.add(f"- {counts.describe()}")
    for note in plan.notes:
        budget.add(f"- _Note: {_cell(note)}_")
    shown_rows = sum(_details(budget, vendor, plan) for vendor in _vendors(plan.actions))
    left_out = len(plan.actions) - shown_rows
    lines = budget.lines
    if left_out or shown_cancels < len(cancels):
        lines += [
            "",
            f"_{left_out} of {len(plan.actions)} action line(s) and "
            f"{len(cancels) - shown_cancels} of {len(cancels)} cancel line(s) are not shown: "
            f"a comment holds at most {limit:,} characters. Run `reconciler plan` or see the "
            "CI log for the whole plan._",
        ]
    text = "\n".join(lines) + "\n"
    assert len(text) <= limit, "the footer reserve is too small"
    return text


def _vendors(changes: Sequence[Change]) -> list[Vendor]:
    return sorted({c.vendor for c in changes})


def _details(budget: _Budget, vendor: Vendor, plan: Plan) -> int:
    """Add one vendor's folded table; return how many action rows fit."""
    changes = [c for c in plan.actions if c.vendor is vendor]
    per_action = {a: sum(1 for c in changes if c.action is a) for a in Action}
    parts = ", ".join(f"{n} {a.value}" for a, n in per_action.items() if n)
    opening = [
        "",
        f"<details><summary>{vendor.display_name}: {len(changes)} action(s) ({parts})</summary>",
        "",
        "| action | subject | run | cost | why |",
        "| --- | --- | --- | --- | --- |",
    ]
    closing = ["", "</details>"]
    overhead = sum(len(line) + 1 for line in opening + closing)
    if not budget.fits("x" * overhead):
        return 0
    for line in opening:
        budget.add(line, required=True)
    budget.limit -= sum(len(line) + 1 for line in closing)  # keep room to close the tag
    shown = 0
    for change in changes:
        if not budget.add(_row(change)):
            break
        shown += 1
    budget.limit += sum(len(line) + 1 for line in closing)
    for line in closing:
        budget.add(line, required=True)
    return shown
