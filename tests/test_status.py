"""Status, pure part: which run counts for each resource, its outcome, and every view of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest

from reconciler.gates import Outcome
from reconciler.model import (
    Address,
    Kind,
    Lifecycle,
    LiveRun,
    Resource,
    RunFields,
    RunPhase,
    SourceLocation,
    Threshold,
    Vendor,
    ownership_labels,
)
from reconciler.render.status import (
    render_status_json,
    render_status_junit,
    render_status_markdown,
    render_status_text,
)
from reconciler.status import judge
from reconciler.vendors.registry import vendor_module

ROOT = Path(__file__).resolve().parents[1]
COMPLETE = json.loads((ROOT / "tests" / "fixtures" / "bland-list-runs.json").read_text())["data"][
    "data"
][0]
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def resource(name: str, *thresholds: Threshold) -> Resource:
    return Resource.build(
        address=Address(Kind.BLAND_EVAL_RUN, name),
        spec={"call_ids": ["c1"], "attached_agents": [{"eval_agent_id": "a"}]},
        lifecycle=Lifecycle(max_attempts=2),
        thresholds=thresholds,
        source=SourceLocation(path="x.yaml", line=1),
    )


def run(of: Resource, run_id: str, status: str, raw: dict | None = None) -> LiveRun:
    body = dict(raw or {}, id=run_id, status=status)
    return LiveRun(
        vendor=Vendor.BLAND,
        run_id=run_id,
        status=status,
        phase=RunPhase.from_status(status),
        created_at=NOW,
        labels=ownership_labels(of, workspace="ws", request_id=run_id),
        metrics=vendor_module(Vendor.BLAND).metrics(body),
        fields=RunFields.of(body),
    )


GOOD = Threshold(metric="score_mean", min=80)
STRICT = Threshold(metric="score_mean", min=90)


class TestOutcomes:
    def test_a_finished_run_that_clears_every_gate_passes(self):
        """COMPLETE with score 82.4 against min 80: passed, exit 0."""
        r = resource("a", GOOD)
        result = judge([r], [run(r, "r1", "COMPLETE", COMPLETE)], workspace="ws")
        assert [Outcome.PASSED] == [s.outcome for s in result.resources]
        assert 0 == result.exit_code

    def test_a_missed_threshold_fails_with_exit_3(self):
        """Score 82.4 against min 90: failed."""
        r = resource("a", STRICT)
        result = judge([r], [run(r, "r1", "COMPLETE", COMPLETE)], workspace="ws")
        assert (Outcome.FAILED, 3) == (result.resources[0].outcome, result.exit_code)

    def test_an_active_run_is_running_and_exits_4(self):
        """Still RUNNING: neither pass nor fail; at the timeout that is exit 4."""
        r = resource("a", GOOD)
        result = judge([r], [run(r, "r1", "RUNNING")], workspace="ws")
        assert (Outcome.RUNNING, 4) == (result.resources[0].outcome, result.exit_code)

    def test_a_failed_run_fails_the_resource(self):
        """The only run FAILED: the resource failed (exit 3), apply would try again."""
        r = resource("a", GOOD)
        result = judge([r], [run(r, "r1", "FAILED")], workspace="ws")
        assert (Outcome.FAILED, 3) == (result.resources[0].outcome, result.exit_code)

    def test_no_run_at_all_is_an_error(self):
        """Nothing applied yet: an error (exit 1) that says to run apply."""
        result = judge([resource("a", GOOD)], [], workspace="ws")
        assert (Outcome.ERROR, 1) == (result.resources[0].outcome, result.exit_code)
        assert "reconciler apply" in result.resources[0].detail

    def test_a_gate_on_a_missing_value_is_an_error_not_a_pass(self):
        """A finished run without a summary: the score gate is n/a, the resource an error."""
        r = resource("a", GOOD)
        result = judge([r], [run(r, "r1", "COMPLETE", {"summary": None})], workspace="ws")
        assert (Outcome.ERROR, 1) == (result.resources[0].outcome, result.exit_code)


@pytest.fixture
def mixed():
    a, b, c = resource("a", GOOD), resource("b", STRICT, GOOD), resource("c", GOOD)
    live = [
        run(a, "r1", "COMPLETE", COMPLETE),
        run(b, "r2", "COMPLETE", COMPLETE),
        run(c, "r3", "RUNNING"),
    ]
    return judge([a, b, c], live, workspace="ws")


class TestViews:
    def test_the_table_lists_each_gate_and_ends_with_the_summary(self, mixed):
        """A line per resource, a line per gate, the summary last."""
        text = render_status_text(mixed)
        assert "FAIL  score_mean >= 90 = 82.4  82.4 is below 90" in text
        assert "Status: 3 resource(s): 1 passed, 1 failed, 1 running." == text.splitlines()[-1]

    def test_json_validates_against_its_schema(self, mixed):
        """The versioned JSON document matches schemas/status.schema.json."""
        schema = json.loads((ROOT / "schemas" / "status.schema.json").read_text())
        document = json.loads(render_status_json(mixed))
        jsonschema.validate(document, schema)
        assert ("1.0", 4) == (document["format_version"], document["exit_code"])

    def test_junit_counts_parse_back(self, mixed):
        """One testsuite per resource, one testcase per gate; failures and errors counted."""
        root = ElementTree.fromstring(render_status_junit(mixed))
        suites = {s.get("name"): s for s in root.iter("testsuite")}
        assert 3 == len(suites)
        assert ("2", "1", "0") == tuple(
            suites["BlandEvalRun/b"].get(k) for k in ("tests", "failures", "errors")
        )
        assert "1" == suites["BlandEvalRun/c"].get("errors")  # still running is not a pass
        assert ("4", "1", "1") == tuple(root.get(k) for k in ("tests", "failures", "errors"))
        failure = root.find(".//testcase[@name='score_mean >= 90']/failure")
        assert failure is not None
        assert "82.4" in (failure.get("message") or "")

    def test_markdown_has_a_marker_and_stays_under_the_limit(self):
        """Even with thousands of resources, the comment fits and says what it left out."""
        resources = [resource(f"r{n:05d}", GOOD) for n in range(3_000)]
        live = [run(r, f"id{n}", "COMPLETE", COMPLETE) for n, r in enumerate(resources)]
        text = render_status_markdown(judge(resources, live, workspace="ws"))
        assert text.startswith("<!-- reconciler:ws -->\n")
        assert len(text) <= 65_536
        assert "are not shown" in text
