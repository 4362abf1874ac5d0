"""Crash safety with real processes: an apply SIGKILLed anywhere, then one run to its end.

The emulator is its own process (state in a SQLite file, 100 ms latency per request) and each
apply another. With `max_concurrency: 1` an apply of 4 resources per vendor spends about
0.4 s starting, 0.4 s planning and 0.8 s creating, so kills between 0.1 s and 1.5 s land
before the plan, during it, and between the creates of all three vendors. Whatever the kill
left behind, the next apply must end with exactly one run per declared resource, and no
vendor may hold a second copy of any.
"""

from __future__ import annotations

import random
import signal
import time

import pytest

from tests.e2e import procs

LATENCY = ("--latency-ms", "100")
SEED = 20261102


def kill_points(count: int = 6, low: float = 0.1, high: float = 1.5) -> list[float]:
    """Draw one kill time per equal slice of [low, high], from a fixed seed."""
    rng = random.Random(SEED)
    width = (high - low) / count
    return [round(low + width * (i + rng.random()), 3) for i in range(count)]


KILL_POINTS = kill_points()


@pytest.fixture
def emulator(tmp_path):
    with procs.running_emulator(tmp_path, *LATENCY) as emulator:
        yield emulator


@pytest.fixture
def project(tmp_path, emulator) -> procs.Project:
    return procs.new_project(tmp_path, emulator.url, max_concurrency=1)


def finish(project: procs.Project) -> procs.Apply:
    """Run the apply after the crash to its end; it must succeed."""
    second = procs.run_apply(project, "second")
    assert 0 == second.process.returncode, second.stdout + second.stderr
    assert "Traceback" not in second.stderr
    return second


@pytest.mark.parametrize("after_s", KILL_POINTS, ids=[f"kill-at-{s}s" for s in KILL_POINTS])
def test_an_apply_killed_at_any_point_is_finished_by_the_next_without_duplicates(
    project, emulator, after_s
):
    """SIGKILL after `after_s`: the next apply converges to exactly one run per resource."""
    first = procs.Apply.start(project, "first")
    time.sleep(max(0.0, first.started + after_s - time.monotonic()))
    first.kill(signal.SIGKILL)
    first.wait()
    between = procs.holdings(emulator.url)
    for vendor in procs.VENDORS:  # whatever was made before the kill, made once
        assert 0 == between.duplicates(vendor), between.describe()
    second = finish(project)
    after = procs.holdings(emulator.url)
    procs.report(f"kill at {after_s}s: {between.describe()}; then {second.summary()}")
    procs.assert_exactly_one_each(after)
    made = sum(between.total(v) for v in procs.VENDORS)
    assert f"Apply complete: {project.resources - made} created" in second.stdout or (
        made == project.resources and "Nothing to do." in second.stdout
    ), second.stdout


def test_an_apply_killed_between_creates_at_every_vendor_is_finished_by_the_next(project, emulator):
    """Killed once each vendor has a run made and before all are: the rest, no duplicate."""
    first = procs.Apply.start(project, "first")
    procs.wait_until(lambda: len(first.done()) == len(procs.VENDORS), first)
    first.kill(signal.SIGKILL)
    first.wait()
    between = procs.holdings(emulator.url)
    for vendor in procs.VENDORS:
        assert 1 <= between.total(vendor), between.describe()  # the kill came mid-apply
        assert 0 == between.duplicates(vendor), between.describe()
    made = sum(between.total(v) for v in procs.VENDORS)
    assert made < project.resources, between.describe()
    second = finish(project)
    procs.report(f"killed mid-apply: {between.describe()}; then {second.summary()}")
    assert f"Apply complete: {project.resources - made} created, 0 cancelled" in second.stdout
    procs.assert_exactly_one_each(procs.holdings(emulator.url))
    again = procs.run_apply(project, "plan", "plan", "--detailed-exitcode")
    assert 0 == again.process.returncode, again.stdout + again.stderr
