"""Two applies of the same manifests started at the same moment, against one emulator process.

Both plan before either creates, so both plan 12 creates. Before each create an apply looks
again for a run made since its plan and adopts one it finds; after each create it looks once
more, and when another apply made an older run of the same identity at the same moment, it
cancels its own copy and adopts the older run (docs/apply.md, "Two applies at once"). So at
every vendor, Bland included, each resource holds exactly one live run right after both
applies end, without a third apply.

The emulator answers after 100 ms (a real vendor's round trip), so the two processes'
looks and creates overlap as two CI pipelines' would. Whether they interleave depends on how
the two processes are scheduled, so the race is run twice, each against its own emulator.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import pytest

from tests.e2e import procs


@dataclass(frozen=True)
class Race:
    url: str
    applies: dict[str, procs.Apply]
    before: procs.Holdings  # after the two racing applies
    third: procs.Apply
    after: procs.Holdings  # after the third apply
    converged: procs.Apply  # `plan --detailed-exitcode` after the third apply
    bland_statuses: list[str]  # of every Bland run at the end


def describe(name: str, apply: procs.Apply) -> str:
    """Say what one apply did: its summary, and its creates per vendor, made or adopted."""
    creates = re.findall(
        r"^apply .* action=create vendor=(\w+) .*outcome=ok(.*)$", apply.stderr, re.M
    )
    made = Counter(vendor for vendor, rest in creates if 'note="adopted' not in rest)
    adopted = Counter(vendor for vendor, rest in creates if 'note="adopted' in rest)
    done = ", ".join(f"{v} {made[v]} made/{adopted[v]} adopted" for v in procs.VENDORS)
    return f"{name}: exit {apply.process.returncode}: {apply.summary()} ({done})"


ROUNDS = 2


def run_race(tmp_path) -> Race:
    """Two applies at once, then a third, then a plan, against a fresh emulator."""
    with procs.running_emulator(tmp_path, "--latency-ms", "100") as emulator:
        project = procs.new_project(tmp_path, emulator.url)
        applies = {name: procs.Apply.start(project, name) for name in ("left", "right")}
        for apply in applies.values():
            apply.wait()
        before = procs.holdings(emulator.url)
        third = procs.run_apply(project, "third")
        after = procs.holdings(emulator.url)
        converged = procs.run_apply(project, "plan", "plan", "--detailed-exitcode")
        statuses = [r["status"] for r in procs.bland_runs(emulator.url)]
        return Race(emulator.url, applies, before, third, after, converged, statuses)


@pytest.fixture(scope="module")
def races(tmp_path_factory) -> list[Race]:
    """Run the race ROUNDS times for the module's tests."""
    return [run_race(tmp_path_factory.mktemp(f"race{n}")) for n in range(ROUNDS)]


def test_both_applies_end_cleanly_and_a_third_converges(races):
    """Both exit 0 (or fail clearly); the third leaves one live Bland run per resource."""
    for number, race in enumerate(races, start=1):
        procs.report(f"round {number}:")
        check_converged(race)


def check_converged(race: Race) -> None:
    for name, apply in race.applies.items():
        procs.report(describe(name, apply))
    procs.report(f"after both: {race.before.describe()}")
    procs.report(describe("third", race.third))
    procs.report(f"after the third: {race.after.describe()}")
    for apply in race.applies.values():
        assert "Traceback" not in apply.stderr
        assert apply.process.returncode in (0, 1), apply.stderr
        if apply.process.returncode:  # a clear failure: it names what failed
            assert "Failed:" in apply.stderr or "Error:" in apply.stderr, apply.stderr
    assert 0 == race.third.process.returncode, race.third.stdout + race.third.stderr
    assert "Nothing to do." in race.third.stdout, race.third.stdout
    want = procs.declared()["bland"]
    assert want == set(race.after.every["bland"]), race.after.every["bland"]
    assert {k: 1 for k in want} == dict(race.after.live["bland"]), race.after.live["bland"]
    extra = race.before.duplicates("bland")
    assert extra == race.bland_statuses.count("CANCELLED"), race.bland_statuses
    assert 0 == race.converged.process.returncode, race.converged.stdout


@pytest.mark.parametrize("vendor", procs.VENDORS)
def test_each_resource_holds_exactly_one_live_run_right_after_both_applies(races, vendor):
    """Twin creates are settled at once, at every vendor: the apply whose copy is newer cancels it.

    Without vendor idempotency two applies that look at the same moment can both create;
    each looks again after its create and keeps the oldest run of the identity
    (docs/apply.md). So right after both applies, before any third apply, each resource has
    one live run, and any copy is cancelled by the apply that made it.
    """
    want = procs.declared()
    for number, race in enumerate(races, start=1):
        procs.report(f"round {number}, after both: {race.before.describe()}")
    for number, race in enumerate(races, start=1):
        assert {k: 1 for k in want[vendor]} == dict(race.before.live[vendor]), (
            f"round {number}: {vendor}: more than one live run for a resource after two "
            f"applies at once: {dict(race.before.live[vendor])}"
        )
