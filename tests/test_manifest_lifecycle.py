"""What links documents: stages (`lifecycle.after`) and former addresses (`moved_from`)."""

from __future__ import annotations

from reconciler.model import Address, Kind, Stage, StageGate
from tests.test_manifest import errors, loaded, valid_bland


def after(*addresses: str) -> tuple[str, ...]:
    """A lifecycle tail whose `after` entries start on line 10 (one per line)."""
    return ("lifecycle:", "  after:", *(f"    - {{address: {a}}}" for a in addresses))


def test_a_stage_is_read_with_its_gate_and_line(tmp_path):
    (smoke, full) = loaded(
        tmp_path,
        {
            "smoke.yaml": valid_bland("smoke"),
            "full.yaml": valid_bland("full", tail=after("BlandEvalRun/smoke")),
        },
    )[::-1]
    assert (Stage(address=Address(Kind.BLAND_EVAL_RUN, "smoke"), gates=StageGate.PASS),) == (
        full.lifecycle.after
    )
    assert 11 == full.lifecycle.after[0].line
    assert () == smoke.lifecycle.after


def test_a_stage_on_an_unknown_address_names_the_file_line_and_the_fix(tmp_path):
    found = errors(tmp_path, {"full.yaml": valid_bland("full", tail=after("BlandEvalRun/smok"))})
    assert [
        "full.yaml:11: lifecycle.after[0].address: BlandEvalRun/smok is not declared in any "
        "manifest. Declare it, or name a declared resource"
    ] == found


def test_stages_in_a_circle_name_every_file_and_line_on_it(tmp_path):
    found = errors(
        tmp_path,
        {
            "a.yaml": valid_bland("a", tail=after("BlandEvalRun/b")),
            "b.yaml": valid_bland("b", tail=after("BlandEvalRun/a")),
        },
    )
    assert [
        "a.yaml:11: lifecycle.after: stages wait for each other in a circle: BlandEvalRun/a "
        "waits for BlandEvalRun/b (a.yaml:11); BlandEvalRun/b waits for BlandEvalRun/a "
        "(b.yaml:11). Remove one of these `after` entries"
    ] == found


def test_a_stage_that_waits_for_itself_is_a_circle(tmp_path):
    found = errors(tmp_path, {"a.yaml": valid_bland("a", tail=after("BlandEvalRun/a"))})
    assert 1 == len(found)
    assert "BlandEvalRun/a waits for BlandEvalRun/a (a.yaml:11)" in found[0]


def test_a_former_address_that_is_still_declared_is_an_error(tmp_path):
    found = errors(
        tmp_path,
        {
            "old.yaml": valid_bland("old"),
            "new.yaml": valid_bland("new", tail=("lifecycle:", "  moved_from: [BlandEvalRun/old]")),
        },
    )
    assert [
        "new.yaml:1: lifecycle.moved_from: BlandEvalRun/old is still declared at old.yaml:1. "
        "A former address must no longer be declared: delete that document"
    ] == found


def test_a_former_address_of_another_kind_is_refused_by_the_schema(tmp_path):
    found = errors(
        tmp_path,
        {"new.yaml": valid_bland("new", tail=("lifecycle:", "  moved_from: [ArizeTaskRun/x]"))},
    )
    assert 1 == len(found)
    assert found[0].startswith("new.yaml:10: lifecycle.moved_from[0]:")
