"""`status --timeout T` ends by T + timeout_s + 1 s whatever the vendor does, through the CLI.

The first look goes through to the emulator (the run is active); every later one meets a
vendor that trickles its answer or asks to retry in an hour. The bound is the promise itself,
so these tests time the command.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from tests.e2e.test_bland import API_KEY, Project
from tests.providers.hostile import Answer, HostileVendor

KEY = API_KEY  # the emulator keeps runs per key: the one the apply used
TIMEOUT_S = 1  # providers.bland.timeout_s
PAGE = json.dumps({"data": {"data": [], "has_more": False}, "errors": None}).encode()
LIMITED = json.dumps({"data": None, "errors": [{"error": "RATE_LIMITED", "message": "later"}]})

MISBEHAVIOURS = {
    "trickles": Answer(200, PAGE, gap_s=0.2),
    "asks-to-retry-in-an-hour": Answer(429, LIMITED.encode(), {"retry-after": "3600"}),
}


def after_first_list(answer: Answer):
    """Forward the first list (and anything not a list) to the emulator; then misbehave."""
    lists = 0

    def rule(method: str, path: str, headers: dict[str, str]) -> Answer | None:
        nonlocal lists
        if method == "GET" and path.startswith("/v1/evals/runs?"):
            lists += 1
            if lists > 1:
                return answer
        return None

    return rule


@pytest.fixture
def vendors() -> Iterator[list[HostileVendor]]:
    made: list[HostileVendor] = []
    yield made
    for vendor in made:
        vendor.close()


def applied_project(tmp_path, start_emulator, clock) -> Project:
    """A project whose one run was created at the emulator and is still active."""
    project = Project(root=tmp_path, base_url=start_emulator(seed=7, clock=clock))
    project.configure()
    project.declare("nightly")
    assert 0 == project.run("apply", "--auto-approve").exit_code
    return project


def point_at(project: Project, url: str) -> None:
    (project.root / "reconciler.yaml").write_text(
        textwrap.dedent(
            f"""\
            workspace: {project.workspace}
            manifests: ["evals/**/*.yaml"]
            providers:
              bland:
                api_key: "${{BLAND_API_KEY}}"
                base_url: {url}
                timeout_s: {TIMEOUT_S}
            """
        )
    )


def timed_status(project: Project, *args: str) -> tuple[Result, float]:
    started = time.monotonic()
    result = CliRunner().invoke(
        cli, ["-C", str(project.root), "status", *args], env={"BLAND_API_KEY": KEY}
    )
    return result, time.monotonic() - started


@pytest.mark.parametrize("misbehaviour", list(MISBEHAVIOURS), ids=list(MISBEHAVIOURS))
def test_status_ends_by_its_timeout_plus_one_request_whatever_the_vendor_does(
    tmp_path, start_emulator, clock, vendors, misbehaviour
):
    """Exit 4 (still running, as the last complete look saw it) within T + timeout_s + 1 s."""
    project = applied_project(tmp_path, start_emulator, clock)
    vendor = HostileVendor(after_first_list(MISBEHAVIOURS[misbehaviour]), upstream=project.base_url)
    vendors.append(vendor)
    point_at(project, vendor.url)
    result, took = timed_status(project, "--timeout", "3")
    assert 4 == result.exit_code, result.stdout + result.stderr
    assert "Status (timed out): 1 resource(s): 1 running." in result.stdout
    assert "reporting the runs as the previous look saw them" in result.stderr
    assert took < 3 + TIMEOUT_S + 1, f"status took {took:.1f} s"


def test_status_timeout_zero_looks_once_and_names_the_wait_it_cannot_honour(
    tmp_path, start_emulator, clock, vendors
):
    """--timeout 0 and a vendor that asks for an hour: exit 1 at once, naming the hour."""
    project = applied_project(tmp_path, start_emulator, clock)
    vendor = HostileVendor(lambda *_: MISBEHAVIOURS["asks-to-retry-in-an-hour"])
    vendors.append(vendor)
    point_at(project, vendor.url)
    result, took = timed_status(project, "--timeout", "0")
    assert 1 == result.exit_code
    assert 1 == len(vendor.seen)
    assert result.stderr.startswith(
        "Error: bland: list runs failed (HTTP 429): RATE_LIMITED: later; bland asked to retry"
        " after 3600 s, more than the 1 s left of status --timeout 0 (+ timeout_s 1 s)"
    ), result.stderr
    assert took < TIMEOUT_S + 1, f"status took {took:.1f} s"


def test_status_timeout_zero_does_not_say_it_timed_out(tmp_path, start_emulator, clock):
    """One look: a run still active is exit 4, but nothing waited, so nothing timed out."""
    project = applied_project(tmp_path, start_emulator, clock)
    result, _ = timed_status(project, "--timeout", "0")
    assert 4 == result.exit_code
    assert "Status: 1 resource(s): 1 running." in result.stdout
    assert "timed out" not in result.stdout + result.stderr
