"""The human plan: Terraform-like lines, reasons, counts and one summary line."""

from __future__ import annotations

from typing import assert_never

import click

from reconciler.model import Action, Change, Identity, Plan, Reason, VendorCounts
from reconciler.render import money
from reconciler.vendors.base import IdentityMode
from reconciler.vendors.registry import vendor_module

_SYMBOLS = {
    Action.CREATE: ("+", "green"),
    Action.CANCEL: ("-", "red"),
    Action.REPLACE: ("-/+", "yellow"),
    Action.NO_OP: (" ", None),
    Action.MOVED: ("~", "cyan"),
    Action.RELEASED: (" ", None),
    Action.WAIT: ("+", "cyan"),
}

REASONS = {
    Reason.MISSING: "no run exists yet",
    Reason.RETRY_AFTER_FAILURE: "earlier runs of this spec failed or were cancelled",
    Reason.RERUN_AFTER: "every run predates lifecycle.rerun_after",
    Reason.SPEC_CHANGED: "the spec changed",
    Reason.NOT_DECLARED: "no longer declared",
    Reason.DUPLICATE: "duplicate of an older run of the same spec",
    Reason.SATISFIED: "up to date",
    Reason.MATCHED: "a run with the same natural key exists",
    Reason.ADOPTED: "adopted an unmanaged run with the same spec",
    Reason.ATTEMPTS_EXHAUSTED: "lifecycle.max_attempts reached: not creating again",
    Reason.PROTECTED: "protected: will not cancel",
    Reason.MOVED_FROM: "its runs now count as this resource's (lifecycle.moved_from)",
    Reason.RELEASE: "released in reconciler.yaml: never cancelled or replaced",
    Reason.STAGE_PENDING: "held until the stage before it passed; a later apply creates it",
    Reason.STAGE_FAILED: "not created: the stage before it failed its gates",
}


def _identity(change: Change) -> str:
    match change.identity:
        case Identity.LABELS:
            return "by reconciler labels"
        case Identity.NATURAL_KEY:
            return f"matched by natural key; {change.vendor.display_name} runs carry no labels"
        case Identity.ADOPTED:
            return "adopted (lifecycle.adopt)"
        case Identity.NONE:
            return ""
        case _:
            assert_never(change.identity)


def _run(change: Change) -> str:
    if change.run is None:
        return ""
    return f"run {change.run.run_id} {change.run.status}"


def _change_lines(change: Change, *, color: bool, verbose: bool) -> list[str]:
    symbol, fg = _SYMBOLS[change.action]
    head = f"{symbol} {_label(change)} {change.subject}"
    if change.moved_from is not None:
        head = f"{symbol} moved {change.moved_from} -> {change.subject}"
    if change.waits_for:
        verb = "fails on" if change.reason is Reason.STAGE_FAILED else "waits for"
        head += f" ({verb} {', '.join(str(a) for a in change.waits_for)})"
    if color and fg:
        head = click.style(head, fg=fg, bold=change.cancels)
    facts = [change.vendor.value, _run(change), _identity(change), REASONS[change.reason]]
    if change.attempts:
        facts.append(f"{change.attempts} failed attempt(s)")
    if change.creates or change.held:
        facts.append(format_cost(change.cost_usd))
    lines = [f"  {head}  ({'; '.join(f for f in facts if f)})"]
    for diff in change.changed:
        mark = {"added": "+", "removed": "-", "changed": "~"}[diff.change.value]
        value = f" = {diff.new}" if diff.new is not None else ""
        lines.append(f"        {mark} {diff.path}{value}")
    if (
        change.action is Action.NO_OP
        and not verbose
        and change.reason
        in (
            Reason.SATISFIED,
            Reason.MATCHED,
            Reason.ADOPTED,
        )
    ):
        return []
    return lines


def _label(change: Change) -> str:
    match change.action:
        case Action.NO_OP:
            return "keep"
        case Action.WAIT:
            return "create"
        case _:
            return change.action.value


def format_cost(amount: float | None) -> str:
    """Format an estimate: `~$0.42`, or `cost unknown` (never $0 for unknown)."""
    return money.estimate(amount)


def cost_line(plan: Plan) -> str | None:
    """Return `Estimated cost: $X (N unknown)`, or None when the plan creates nothing."""
    held = [c for c in plan.changes if c.held and c.reason is Reason.STAGE_PENDING]
    if not any(c.creates for c in plan.changes) and not held:
        return None
    creates = sum(1 for c in plan.changes if c.creates)
    line = f"Estimated cost: {_sum(plan.total_cost_usd, creates, plan.unknown_costs)}"
    if held:
        unknown = sum(1 for c in held if c.cost_usd is None)
        line += (
            f"; held for stages, not in this apply: {_sum(plan.held_cost_usd, len(held), unknown)}"
        )
    return line


def _sum(known_usd: float, runs: int, unknown: int) -> str:
    """Say a total of estimates: never `$0.00` for runs that were not priced at all."""
    if runs and unknown == runs:
        return f"unknown ({runs} run(s) not priced)"
    return f"{money.usd(known_usd)} ({unknown} unknown)"


def counts_line(counts: VendorCounts) -> str:
    """Say what the plan saw at one vendor as a partition: the parts add up to the live runs.

    `live` = `managed` + `foreign` + `unmanaged`; `matched` is not a further part but a
    subset of the runs of others (label-less vendors), so it is said as one. Parts that are
    0 are left out.
    """
    runs = "run" if counts.live == 1 else "runs"
    name, ours = counts.vendor.display_name, f"{counts.managed} managed by this workspace"
    text = f"{name}: {counts.live} live {runs}: {ours}"
    if not counts.others:
        return text + "."
    detail = [
        f"{n} {what}"
        for n, what in (
            (counts.foreign, "owned by another workspace or user"),
            (counts.unmanaged, "with no known owner"),
        )
        if n
    ]
    if counts.matched and vendor_module(counts.vendor).IDENTITY is IdentityMode.NATURAL_KEY:
        detail.append(f"{counts.matched} of these {counts.others} matched by natural key")
    return f"{text}, {counts.others} of others left alone ({'; '.join(detail)})."


def render_text(plan: Plan, *, color: bool = False, verbose: bool = False) -> str:
    """Render a plan for a terminal or a CI log."""
    out: list[str] = []
    if plan.targeted:
        out.append("Note: this plan is partial (--target/--exclude); other resources are ignored.")
        out.append("")
    body = [line for c in plan.changes for line in _change_lines(c, color=color, verbose=verbose)]
    if body:
        out.append(f"reconciler will do the following (workspace {plan.workspace}):")
        out.append("")
        out.extend(body)
        out.append("")
    kept = plan.count(Action.NO_OP)
    if kept and not verbose:
        out.append(f"{kept} resource(s) or run(s) need nothing (see --verbose).")
    out.extend(counts_line(c) for c in plan.counts)
    out.extend(f"Note: {n}" for n in plan.notes)
    if out and out[-1]:
        out.append("")  # one blank line before the summary, never two
    cost = cost_line(plan)
    if cost is not None:
        out.append(cost)
    summary = plan.summary
    out.append(click.style(summary, bold=True) if color else summary)
    for reason in (plan.refusal, plan.cost_refusal):
        if reason:
            refusal = f"Refused: {reason}"
            out.append(click.style(refusal, fg="red", bold=True) if color else refusal)
    return "\n".join(out) + "\n"
