"""The README's short tour, step by step, on a copy of examples/: what it claims is what shows.

The embedded emulator ages runs on the wall clock, at `RECONCILER_EMULATOR_TIME_SCALE` times
real speed (default 1, the vendors' pace), computed when a run is read. A human spends minutes
between `apply` and the edited `plan`; the test spends milliseconds. So the plans that follow a
human pause run at the time scale that ages the newest run as `PAUSE_S` real seconds at the
default speed would (or a little more) by the time the plan reads it: the replace and the
cancel then show only if the examples' runs, at the default speed, are still active after a
human's pause. The final `status` runs at a
huge time scale instead of waiting minutes for the runs to finish.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner, Result

from reconciler.cli import EMBEDDED_TIME_SCALE, cli
from tests.examples import copy_examples

ROOT = Path(__file__).resolve().parents[2]
PAUSE_S = 120.0  # a human reads the README, opens the file, changes a number, saves
FINISHED = "1000000"  # time scale: every run has finished

# The tour's reconciler commands in README order (the shell steps around them: copy, cd, edit).
TOUR = [
    "reconciler validate",
    "reconciler plan",
    "reconciler apply --auto-approve",
    "reconciler plan --detailed-exitcode",
    "reconciler plan",
    "reconciler apply --auto-approve",
    "reconciler plan",
    "reconciler apply --auto-approve",
    "reconciler status --timeout 600",
    "reconciler plan -out plan.json",
    "reconciler apply plan.json",
]


def _readme_tour() -> list[str]:
    """Return the reconciler commands of the README's "A short tour", comments dropped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## A short tour", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    lines = [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("reconciler ")]


def test_the_readme_tour_runs_the_commands_this_test_checks():
    assert TOUR == _readme_tour()


class Tour:
    """The user's copy of examples/ and the CLI run in it, at a chosen emulator speed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def run(self, *argv: str, time_scale: str | None = None) -> Result:
        env = {"RECONCILER_EMULATOR_TIME_SCALE": time_scale} if time_scale else {}
        return CliRunner(env=env).invoke(cli, ["-C", str(self.root), *argv])

    def after_a_human_pause(self, *argv: str, address: str) -> Result:
        """Run a command as if PAUSE_S had passed since `address`'s current run was created."""
        created = datetime.fromisoformat(self._run_of(address)["created_at"]).timestamp()
        scale = float(EMBEDDED_TIME_SCALE) * PAUSE_S / (time.time() - created)
        return self.run(*argv, time_scale=repr(scale))

    def _run_of(self, address: str) -> dict[str, str]:
        result = self.run("plan", "--format", "json")
        assert 0 == result.exit_code, result.stderr
        (change,) = [c for c in json.loads(result.stdout)["changes"] if c["address"] == address]
        run: dict[str, str] = change["run"]
        return run

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.root / name
        text = path.read_text(encoding="utf-8")
        assert 1 == text.count(old), f"{old!r} is not in {name} exactly once"
        path.write_text(text.replace(old, new), encoding="utf-8")


def test_the_readme_tour_shows_create_no_changes_replace_cancel_and_a_failing_gate(tmp_path):
    tour = Tour(copy_examples(tmp_path))
    nightly = "BlandEvalRun/checkout-nightly"

    validate = tour.run("validate")
    assert 0 == validate.exit_code, validate.stderr
    assert validate.stdout.startswith("Valid: 5 resource(s) in 3 file(s)")

    plan = tour.run("plan")
    assert 0 == plan.exit_code, plan.stderr
    assert "Plan: 5 to create, 0 to cancel, 0 to replace." in plan.stdout

    apply = tour.run("apply", "--auto-approve")
    assert 0 == apply.exit_code, apply.stderr
    assert "Apply complete: 5 created, 0 cancelled, 0 replaced." in apply.stdout

    again = tour.run("plan", "--detailed-exitcode")
    assert 0 == again.exit_code, again.stdout
    assert "No changes." in again.stdout

    # "set pass_threshold_pct: 75 to 80, and plan again": a replace listing the changed field.
    tour.edit("evals/checkout.yaml", "pass_threshold_pct: 75", "pass_threshold_pct: 80")
    replace = tour.after_a_human_pause("plan", address=nightly)
    assert 0 == replace.exit_code, replace.stderr
    assert f"-/+ replace {nightly} " in replace.stdout, replace.stdout
    lines = replace.stdout.splitlines()
    (at,) = [i for i, line in enumerate(lines) if f"-/+ replace {nightly} " in line]
    assert re.search(r"pass_threshold_pct\b.*\b80\b", lines[at + 1]), lines[at + 1]
    assert "Plan: 0 to create, 0 to cancel, 1 to replace." in replace.stdout

    applied = tour.run("apply", "--auto-approve")
    assert 0 == applied.exit_code, applied.stderr
    assert "Apply complete: 0 created, 0 cancelled, 1 replaced." in applied.stdout

    # "delete the checkout-nightly document ... and plan": its active run is cancelled.
    checkout = (tour.root / "evals" / "checkout.yaml").read_text(encoding="utf-8")
    first, rest = checkout.split("\n---\n", 1)
    assert "name: checkout-nightly" in first
    (tour.root / "evals" / "checkout.yaml").write_text(rest, encoding="utf-8")
    prune = tour.after_a_human_pause("plan", address=nightly)
    assert 0 == prune.exit_code, prune.stderr
    assert f"- cancel {nightly} " in prune.stdout, prune.stdout
    assert "Plan: 0 to create, 1 to cancel, 0 to replace." in prune.stdout

    cancelled = tour.run("apply", "--auto-approve")
    assert 0 == cancelled.exit_code, cancelled.stderr
    assert "Apply complete: 0 created, 1 cancelled, 0 replaced." in cancelled.stdout

    # "waits for the runs; one gate fails: exit 3" (the refund policy's Wilson bound).
    status = tour.run("status", "--timeout", "600", time_scale=FINISHED)
    assert 3 == status.exit_code, status.stdout + status.stderr
    assert "Status: 4 resource(s): 3 passed, 1 failed." in status.stdout
    assert "FAILED   AdalineEvaluation/refund-policy" in status.stdout

    saved = tour.root / "plan.json"
    planned = tour.run("plan", "-out", str(saved))
    assert 0 == planned.exit_code, planned.stderr
    assert saved.is_file()
    applied_saved = tour.run("apply", str(saved))
    assert 0 == applied_saved.exit_code, applied_saved.stderr
