"""Staged runs (`lifecycle.after`): a create waits until the stages before it settled. Pure.

The planner asks, for each create, whether every resource it waits for has a current run that
finished (and, with `gates: pass`, passed its thresholds); until then the create is a `wait`
line that only reports (rule 10).
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.gates import Verdict, evaluate
from reconciler.model import Action, Address, Change, Reason, RunPhase, StageGate


def staged(change: Change, by_address: dict[Address, list[Change]]) -> Change:
    """Hold a create (or replace) until every stage before it passed (`lifecycle.after`)."""
    if not change.creates or change.resource is None or not change.resource.lifecycle.after:
        return change
    pending: list[Address] = []
    failed: list[Address] = []
    for stage in change.resource.lifecycle.after:
        verdict = stage_verdict(by_address.get(stage.address, []), stage.gates)
        if verdict is Verdict.FAILED:
            failed.append(stage.address)
        elif verdict is not Verdict.PASSED:
            pending.append(stage.address)
    if not pending and not failed:
        return change
    return Change(
        action=Action.WAIT,
        reason=Reason.STAGE_FAILED if failed else Reason.STAGE_PENDING,
        vendor=change.vendor,
        subject=change.subject,
        identity=change.identity,
        resource=change.resource,
        run=change.run,
        changed=change.changed,
        attempts=change.attempts,
        waits_for=tuple(sorted(failed or pending)),
    )


def stage_verdict(lines: Sequence[Change], gates: StageGate) -> Verdict | None:
    """Say whether a stage passed, failed for good, or (None) has not settled yet.

    Only the run that satisfies the stage's resource counts: a stage being created, replaced,
    retried or itself waiting has not settled. A stage past `max_attempts`, or whose current
    run finished but missed a threshold (with `gates: pass`), has failed for good: nothing
    would ever let the next stage start, so it is not created.
    """
    for change in lines:
        if change.reason is Reason.ATTEMPTS_EXHAUSTED:
            return Verdict.FAILED
        if change.action is not Action.NO_OP or change.run is None:
            continue
        if change.reason not in (Reason.SATISFIED, Reason.MATCHED, Reason.ADOPTED):
            continue
        run, resource = change.run, change.resource
        if run.phase is not RunPhase.SUCCEEDED:
            return None
        if gates is StageGate.FINISH or resource is None:
            return Verdict.PASSED
        verdicts = [evaluate(t, run).verdict for t in resource.thresholds]
        return Verdict.PASSED if all(v is Verdict.PASSED for v in verdicts) else Verdict.FAILED
    return None
