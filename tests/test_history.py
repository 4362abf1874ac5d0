"""`reconciler history` through the CLI against the emulator: runs newest first, list pages only."""

from __future__ import annotations

import json
from contextlib import ExitStack

import pytest

from reconciler import emulator
from tests.e2e.test_bland import Project

GATES = (
    "thresholds:\n"
    "  - {metric: pass_rate_pct, max_drop: 5, baseline: previous}\n"
    "  - {metric: cost_usd, max: 10}\n"
)


@pytest.fixture
def world(tmp_path, clock):
    """A project with three runs of `nightly` (three specs) and one of `weekly`."""
    with ExitStack() as stack:
        server = emulator.make_server("127.0.0.1", 0, seed=7, clock=clock)
        url = stack.enter_context(emulator.serve_in_thread(server))
        project = Project(root=tmp_path, base_url=url)
        project.configure()
        for calls in (1, 2, 3):
            project.declare("nightly", calls=calls, extra=GATES)
            project.declare("weekly", calls=1)
            assert 0 == project.run("apply", "--auto-approve").exit_code
            clock.advance(24 * 3600)
        yield project, server


def test_the_table_lists_each_resources_runs_newest_first_with_its_gated_metrics(world):
    project, _ = world
    result = project.run("history", "BlandEvalRun/nightly", "--last", "2")
    assert 0 == result.exit_code, result.stderr
    lines = result.stdout.splitlines()
    assert "BlandEvalRun/nightly: 3 run(s), the newest 2 shown" == lines[0]
    assert lines[1].split() == ["RUN", "STATUS", "CREATED", "COST", "pass_rate_pct", "cost_usd"]
    assert 4 == len(lines)  # the header, two runs, and nothing of `weekly`
    created = [line.split()[2] for line in lines[2:]]
    assert created == sorted(created, reverse=True)


def test_json_and_markdown_carry_the_same_runs(world):
    project, _ = world
    document = json.loads(project.run("history", "--format", "json").stdout)
    by_address = {r["address"]: r for r in document["resources"]}
    nightly = by_address["BlandEvalRun/nightly"]
    assert (3, ["pass_rate_pct", "cost_usd"]) == (nightly["total_runs"], nightly["metrics"])
    assert [] == by_address["BlandEvalRun/weekly"]["metrics"]
    newest = nightly["runs"][0]
    assert {"id", "status", "phase", "created_at", "cost_usd", "metrics"} == set(newest)
    markdown = project.run("history", "--format", "markdown").stdout
    assert "#### `BlandEvalRun/nightly`: 3 run(s)" in markdown
    assert f"| {newest['id']} | {newest['status']} | {newest['created_at']} |" in markdown


def test_history_reads_the_list_pages_only(world):
    """One list page at Bland for the whole history: never a GET per run."""
    project, server = world
    server.requests.clear()
    assert 0 == project.run("history").exit_code
    assert {"BlandApi": 1} == dict(server.requests)


def test_a_glob_that_matches_nothing_is_one_clear_line_and_exit_1(world):
    project, _ = world
    result = project.run("history", "BlandEvalRun/nope*")
    assert 1 == result.exit_code
    assert (
        "history 'BlandEvalRun/nope*' matches no declared address. `reconciler history` without"
        " a glob lists them all (they look like BlandEvalRun/checkout-nightly)"
    ) in result.stderr
