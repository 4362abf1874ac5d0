"""The machine plan: versioned JSON described by schemas/plan.schema.json."""

from __future__ import annotations

import json

from reconciler.model import JSON, Action, Change, FieldDiff, JSONObject, Plan, format_instant

# 1.1: a replace's `actions` is ["create", "delete"] (create before destroy, as apply does) and
# `changed[].new` is the JSON value itself; saved plans record a guard's refusal. 1.0 still reads.
# 1.2: lines that only report (rule 10): actions `moved`, `released` and `wait` (each with
# `actions: ["no-op"]`), `moved_from`, `waits_for`, the summary's counts of them and
# `cost.held_usd`. 1.1 consumers that scan `actions` still read a plan right.
FORMAT_VERSION = "1.2"
TRIGGERS_PREFIX = "lifecycle.triggers."

_ACTIONS: dict[Action, list[JSON]] = {
    Action.CREATE: ["create"],
    Action.CANCEL: ["delete"],
    Action.REPLACE: ["create", "delete"],
    Action.NO_OP: ["no-op"],
    Action.MOVED: ["no-op"],
    Action.RELEASED: ["no-op"],
    Action.WAIT: ["no-op"],
}


def _typed(diff: FieldDiff) -> JSON:
    """Return a diff's new value with its JSON type (80, not "80").

    The planner gives spec values as compact JSON, cut with `…` past a length (such a value
    stays a string), and trigger values as the strings they are.
    """
    if diff.new is None or diff.path.startswith(TRIGGERS_PREFIX):
        return diff.new
    try:
        value: JSON = json.loads(diff.new)
    except ValueError:
        return diff.new
    return value


def _change(change: Change) -> JSONObject:
    resource = change.resource
    address = change.address
    key = resource.natural_key if resource else (change.run.natural_key if change.run else None)
    run: JSON = None
    if change.run is not None:
        run = {
            "id": change.run.run_id,
            "status": change.run.status,
            "phase": change.run.phase.value,
            "created_at": format_instant(change.run.created_at),
        }
    return {
        "subject": change.subject,
        "address": str(address) if address else None,
        "vendor": change.vendor.value,
        "action": change.action.value,
        "actions": list(_ACTIONS[change.action]),
        "reason": change.reason.value,
        "identity": change.identity.value,
        "spec_hash": resource.spec_hash if resource else None,
        "natural_key": {k: v for k, v in key.parts} if key else None,
        "run": run,
        "changed": [
            {"path": d.path, "change": d.change.value, "new": _typed(d)} for d in change.changed
        ],
        "attempts": change.attempts,
        "cost_usd": change.cost_usd,
        "moved_from": str(change.moved_from) if change.moved_from else None,
        "waits_for": [str(a) for a in change.waits_for],
    }


def plan_document(plan: Plan) -> JSONObject:
    """Return the plan as a JSON object (the body of `plan --format json` and of plan files)."""
    return {
        "format_version": FORMAT_VERSION,
        "workspace": plan.workspace,
        "targeted": plan.targeted,
        "refusal": plan.refusal,
        "summary": {
            "create": plan.count(Action.CREATE),
            "cancel": plan.count(Action.CANCEL),
            "replace": plan.count(Action.REPLACE),
            "no_op": plan.count(Action.NO_OP),
            "moved": plan.count(Action.MOVED),
            "released": plan.count(Action.RELEASED),
            "wait": plan.count(Action.WAIT),
            "text": plan.summary,
        },
        "changes": [_change(c) for c in plan.changes],
        "cost": {
            "total_usd": plan.total_cost_usd,
            "unknown": plan.unknown_costs,
            "held_usd": plan.held_cost_usd,
            "refusal": plan.cost_refusal,
        },
        "counts": [
            {
                "vendor": c.vendor.value,
                "live": c.live,
                "managed": c.managed,
                "matched": c.matched,
                "unmanaged": c.unmanaged,
                "foreign": c.foreign,
            }
            for c in plan.counts
        ],
        "notes": list(plan.notes),
    }


def render_json(plan: Plan) -> str:
    """Render a plan as indented, key-sorted JSON."""
    return json.dumps(plan_document(plan), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
