"""SIGTERM (a cancelled CI job) and SIGINT (Ctrl-C) to an apply process half-way.

The emulator answers after 100 ms and reconciler.yaml sets `max_concurrency: 1`, so each
vendor's four creates queue one behind the other. Once the first create has finished the
apply is signalled: the creates in flight finish, the queued ones do not start, the apply
says so and exits 143 (SIGTERM) or 130 (SIGINT). The next apply creates only the rest.
"""

from __future__ import annotations

import re
import signal

import pytest

from tests.e2e import procs


@pytest.fixture
def emulator(tmp_path):
    with procs.running_emulator(tmp_path, "--latency-ms", "100") as emulator:
        yield emulator


@pytest.mark.parametrize(
    ("signum", "code", "by"),
    [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "Ctrl-C")],
    ids=["sigterm", "sigint"],
)
def test_a_signalled_apply_stops_cleanly_and_the_next_finishes_the_rest(
    tmp_path, emulator, signum, code, by
):
    """Exit 143/130, says how many were not started, no traceback; then no duplicate."""
    project = procs.new_project(tmp_path, emulator.url, max_concurrency=1)
    first = procs.Apply.start(project, "first")
    procs.wait_until(lambda: sum(first.done().values()) >= 1, first)
    first.kill(signum)
    assert code == first.wait()
    stopped = re.search(
        rf"^Stopped by {by}: actions in flight finished, (\d+) were not started\. "
        r"The next apply picks up from here\.$",
        first.stderr,
        re.M,
    )
    assert stopped, first.stderr
    not_started = int(stopped.group(1))
    assert 1 <= not_started < project.resources, first.stderr
    summary = re.search(
        r"^Apply interrupted: (\d+) created, 0 cancelled, 0 replaced, (\d+) not started\.$",
        first.stdout,
        re.M,
    )
    assert summary, first.stdout
    created = int(summary.group(1))
    assert not_started == int(summary.group(2))  # stdout and stderr agree
    assert project.resources == created + not_started  # nothing failed, nothing lost
    assert "Traceback" not in first.stdout + first.stderr
    assert "not-started" in first.stderr  # each queued action logged as such

    between = procs.holdings(emulator.url)
    assert created == sum(between.total(v) for v in procs.VENDORS), between.describe()
    second = procs.run_apply(project, "second")
    procs.report(f"{by}: {first.summary()}; then {second.summary()}")
    assert 0 == second.process.returncode, second.stdout + second.stderr
    assert f"Apply complete: {not_started} created, 0 cancelled, 0 replaced." in second.stdout
    procs.assert_exactly_one_each(procs.holdings(emulator.url))
