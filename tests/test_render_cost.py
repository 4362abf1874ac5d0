"""The text and JSON plans show each create's estimated cost, the total, and the unknowns."""

from __future__ import annotations

import dataclasses
import json
import re
from xml.etree import ElementTree

import jsonschema
import pytest

from reconciler.cost import _check_limit
from reconciler.model import Action, Plan, Threshold
from reconciler.render import money
from reconciler.render.json import render_json
from reconciler.render.markdown import render_markdown
from reconciler.render.status import (
    render_status_junit,
    render_status_markdown,
    render_status_text,
)
from reconciler.render.text import render_text
from reconciler.status import judge
from tests.test_render import SCHEMA, _plan
from tests.test_status import COMPLETE, run
from tests.test_status import resource as status_resource


def _priced(create: float | None = 0.42, replace: float | None = None, **extra: object) -> Plan:
    plan = _plan()
    costs = {Action.CREATE: create, Action.REPLACE: replace}
    changes = tuple(
        dataclasses.replace(c, cost_usd=costs[c.action]) if c.creates else c for c in plan.changes
    )
    return dataclasses.replace(plan, changes=changes, **extra)  # type: ignore[arg-type]


class TestText:
    def test_each_create_shows_its_cost_or_says_unknown(self):
        text = render_text(_priced())
        [create] = [line for line in text.splitlines() if "+ create BlandEvalRun/new" in line]
        [replace] = [line for line in text.splitlines() if "replace BlandEvalRun/changed" in line]
        assert "~$0.42" in create
        assert "cost unknown" in replace
        [cancel] = [line for line in text.splitlines() if "cancel BlandEvalRun/gone" in line]
        assert "cost" not in cancel

    def test_the_total_comes_just_before_the_summary(self):
        lines = render_text(_priced(create=1.5, replace=0.25)).rstrip().splitlines()
        assert "Estimated cost: $1.75 (0 unknown)" == lines[-2]
        assert lines[-1].startswith("Plan: ")

    def test_unknown_costs_are_counted_not_added_as_zero(self):
        assert "Estimated cost: $0.42 (1 unknown)" in render_text(_priced())

    def test_a_plan_that_creates_nothing_has_no_cost_line(self):
        assert "Estimated cost" not in render_text(Plan(workspace="w", changes=(), counts=()))

    def test_the_cost_refusal_follows_the_summary(self):
        text = render_text(_priced(cost_refusal="the estimated cost $9.00 exceeds it"))
        assert text.rstrip().endswith("Refused: the estimated cost $9.00 exceeds it")


class TestJson:
    def test_costs_are_numbers_or_null_and_validate(self):
        document = json.loads(render_json(_priced()))
        jsonschema.validate(document, SCHEMA)
        by_subject = {c["subject"]: c["cost_usd"] for c in document["changes"]}
        assert 0.42 == by_subject["BlandEvalRun/new"]
        assert by_subject["BlandEvalRun/changed"] is None
        assert by_subject["BlandEvalRun/gone"] is None

    def test_top_level_cost_has_the_total_and_the_unknowns(self):
        document = json.loads(render_json(_priced(cost_refusal="too dear")))
        jsonschema.validate(document, SCHEMA)
        assert {
            "total_usd": 0.42,
            "unknown": 1,
            "held_usd": 0.0,
            "refusal": "too dear",
        } == document["cost"]

    def test_an_unpriced_plan_counts_every_create_as_unknown(self):
        document = json.loads(render_json(_plan()))
        expected = {"total_usd": 0.0, "unknown": 2, "held_usd": 0.0, "refusal": None}
        assert expected == document["cost"]


class TestMoney:
    @pytest.mark.parametrize(
        ("amount", "expected"),
        [
            (0.0, "$0.00"),
            (0.42, "$0.42"),
            (1234.5, "$1,234.50"),
            (0.01, "$0.01"),
            (0.004, "$0.004"),
            (0.0042, "$0.0042"),
            (0.00999, "$0.01"),
            (0.0000123, "$0.000012"),
        ],
        ids=[
            "zero",
            "cents",
            "thousands",
            "one-cent",
            "sub-cent",
            "two-digits",
            "rounds-up",
            "tiny",
        ],
    )
    def test_an_amount_is_never_rounded_to_zero_nor_written_in_scientific_notation(
        self, amount, expected
    ):
        assert expected == money.usd(amount)

    def test_an_estimate_has_a_tilde_and_an_unknown_one_says_so(self):
        assert ("~$0.0042", "cost unknown") == (money.estimate(0.0042), money.estimate(None))


class TestSameAmountEverywhere:
    def test_a_sub_cent_amount_reads_the_same_in_plan_status_text_and_markdown(self):
        """$0.0042 estimated and spent: plan text, plan comment, status table, status comment."""
        plan = _priced(create=0.0042, replace=None)
        text, markdown = render_text(plan), render_markdown(plan)
        r = status_resource("nightly", Threshold(metric="score_mean", min=80))
        live = dataclasses.replace(run(r, "id1", "COMPLETE", COMPLETE), cost_usd=0.0042)
        result = judge([r], [live], workspace="ws")
        result = dataclasses.replace(
            result,
            resources=tuple(dataclasses.replace(s, estimate_usd=0.0042) for s in result.resources),
        )
        table, comment = render_status_text(result), render_status_markdown(result)
        assert "~$0.0042" in next(line for line in text.splitlines() if "create" in line)
        assert "Estimated cost: $0.0042 (1 unknown)" in text
        assert "| ~$0.0042 |" in markdown
        assert "Estimated cost: $0.0042 (1 unknown)" in markdown
        assert "cost $0.0042, estimated ~$0.0042" in table
        assert "| $0.0042, estimated ~$0.0042 |" in comment
        for output in (text, markdown, table, comment):
            assert {"$0.0042"} == set(re.findall(r"\$[0-9.,]*[0-9]", output))

    def test_a_cost_gate_prints_its_value_as_money_in_the_table_comment_and_junit(self):
        """A `cost_usd` gate's measured value reads as the plan would write the amount."""
        r = status_resource("nightly", Threshold(metric="cost_usd", max=0.0001))
        result = judge([r], [run(r, "id1", "COMPLETE", COMPLETE)], workspace="ws")
        spent = money.usd(COMPLETE["billable_cost_usd"])
        assert spent.startswith("$")
        assert f"FAIL  cost_usd <= 0.0001 = {spent}" in render_status_text(result)
        assert f"| cost_usd <= 0.0001 **failed** | {spent} |" in render_status_markdown(result)
        [failure] = ElementTree.fromstring(render_status_junit(result)).iter("failure")
        assert failure.get("message", "").startswith(spent)

    def test_the_cost_refusal_and_note_write_amounts_as_the_plan_does(self):
        """safety.max_cost_usd's messages (in text, JSON and the comment) use the same format."""
        plan = _priced(create=0.0042, replace=0.0)
        refused = _check_limit(plan, max_cost_usd=0.001, allow_cost=False)
        assert (
            "the estimated cost $0.0042 exceeds safety.max_cost_usd ($0.001). "
            "Pass `apply --allow-cost` to apply anyway"
        ) == refused.cost_refusal
        noted = _check_limit(_priced(create=0.0042), max_cost_usd=0.5, allow_cost=False)
        assert (
            "1 cost(s) are unknown, so safety.max_cost_usd ($0.50) checks only the known $0.0042."
        ) == noted.notes[-1]
