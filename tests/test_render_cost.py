"""The text and JSON plans show each create's estimated cost, the total, and the unknowns."""

from __future__ import annotations

import dataclasses
import json

import jsonschema

from reconciler.model import Action, Plan
from reconciler.render.json import render_json
from reconciler.render.text import render_text
from tests.test_render import SCHEMA, _plan


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
        assert {"total_usd": 0.42, "unknown": 1, "refusal": "too dear"} == document["cost"]

    def test_an_unpriced_plan_counts_every_create_as_unknown(self):
        document = json.loads(render_json(_plan()))
        assert {"total_usd": 0.0, "unknown": 2, "refusal": None} == document["cost"]
