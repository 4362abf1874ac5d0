"""The examples' regression gate: after the quickstart, a changed trigger and status compare."""

from __future__ import annotations

import json

from click.testing import CliRunner

from reconciler.cli import cli
from tests.examples import copy_examples

FAST = {"RECONCILER_EMULATOR_TIME_SCALE": "100000"}  # the emulator's minutes pass at once
NIGHTLY = "BlandEvalRun/checkout-nightly"


def test_a_second_apply_with_a_changed_trigger_then_status_shows_the_baseline(tmp_path):
    root = copy_examples(tmp_path)

    def run(*argv: str):
        return CliRunner(env=FAST).invoke(cli, ["-C", str(root), *argv])

    assert 0 == run("apply", "--auto-approve").exit_code
    first = json.loads(run("status", "--timeout", "600", "--format", "json").stdout)
    (nightly,) = [r for r in first["resources"] if r["address"] == NIGHTLY]
    first_run = nightly["run"]["id"]
    note = nightly["gates"][2]["baseline"]["note"]
    assert "no baseline yet (previous): on_missing_baseline is pass" == note

    text = (root / "evals" / "checkout.yaml").read_text(encoding="utf-8")
    changed = text.replace('triggers: {dataset: "2026-11"}', 'triggers: {dataset: "2026-12"}')
    (root / "evals" / "checkout.yaml").write_text(changed, encoding="utf-8")
    assert 0 == run("apply", "--auto-approve").exit_code
    status = run("status", "--timeout", "600")
    assert "pass_rate_pct drop <= 5 vs previous = " in status.stdout
    assert f"vs previous {first_run} = " in status.stdout
