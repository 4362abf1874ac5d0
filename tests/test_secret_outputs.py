"""No key in any output, whatever the vendor sends back: the CLI against a hostile vendor."""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import DebugTraceback, ReconcilerGroup, cli
from reconciler.secret import Secret
from tests.e2e.test_bland import Project
from tests.providers.hostile import Answer, HostileVendor

KEY = "sk-echoed-canary-1618"
EMPTY_PAGE = json.dumps({"data": {"data": [], "has_more": False}, "errors": None}).encode()


def echo(status: int, headers: dict[str, str]) -> Answer:
    """Answer with the request's authorization header quoted in every place a vendor might."""
    auth = headers.get("authorization", "")
    body = {"errors": [{"error": "AUTH_FAILURE", "message": f"invalid key {auth!r}"}]}
    return Answer(status, json.dumps(body).encode(), {"x-request-id": f"req-{auth}"})


def rejects_every_key(method: str, path: str, headers: dict[str, str]) -> Answer:
    return echo(401, headers)


def rejects_creates_and_estimates(method: str, path: str, headers: dict[str, str]) -> Answer:
    if method == "GET":
        return Answer(200, EMPTY_PAGE)
    if path.startswith("/v1/evals/runs/estimates"):
        return echo(400, headers)
    auth = headers.get("authorization", "")
    return Answer(400, f"bad request; you sent authorization: {auth}".encode(), {})


@pytest.fixture
def hostile() -> Iterator[list[HostileVendor]]:
    vendors: list[HostileVendor] = []
    yield vendors
    for vendor in vendors:
        vendor.close()


def project_at(tmp_path: Path, hostile: list[HostileVendor], rule) -> Project:
    vendor = HostileVendor(rule)
    hostile.append(vendor)
    project = Project(root=tmp_path, base_url=vendor.url, runner=CliRunner())
    project.configure()
    project.declare("checkout-nightly")
    return project


def run(project: Project, *args: str, key: str = KEY) -> Result:
    return project.runner.invoke(
        cli, ["-C", str(project.root), *args], env={"BLAND_API_KEY": key}, catch_exceptions=False
    )


DEBUG = pytest.mark.parametrize("debug", [(), ("--debug",)], ids=["plain", "debug"])


@DEBUG
def test_a_401_that_echoes_the_key_is_reported_without_it(tmp_path, hostile, debug):
    """One line naming vendor, operation and the field to fix; the echo shows ***."""
    project = project_at(tmp_path, hostile, rejects_every_key)
    result = run(project, *debug, "plan")
    assert 1 == result.exit_code
    assert KEY not in result.stdout + result.stderr
    assert (
        "Error: bland: list runs failed (HTTP 401): AUTH_FAILURE: invalid key '***'. "
        "Check the API key (providers.bland.api_key) [request id req-***]"
    ) in result.stderr.splitlines()


@DEBUG
def test_a_400_that_echoes_the_key_at_create_stays_out_of_plan_apply_and_log(
    tmp_path, hostile, debug
):
    """The estimate's and the create's echoes: not in stdout, stderr, the log or the plan file."""
    project = project_at(tmp_path, hostile, rejects_creates_and_estimates)
    plan_file = tmp_path / "plan.json"
    planned = run(project, *debug, "plan", "-out", str(plan_file))
    applied = run(project, *debug, "apply", "--auto-approve")
    assert 0 == planned.exit_code, planned.stderr
    assert 1 == applied.exit_code
    assert "1 cost estimate(s) failed" in planned.stdout
    assert "bad request; you sent authorization: ***" in applied.stdout + applied.stderr
    for text in (planned.stdout, planned.stderr, applied.stdout, applied.stderr):
        assert KEY not in text
    assert KEY not in plan_file.read_text()


def test_a_key_httpx_refuses_as_a_header_is_not_printed_under_debug(tmp_path, hostile):
    """A key with a newline: httpx's own LocalProtocolError quotes it; --debug shows ***."""
    project = project_at(tmp_path, hostile, rejects_every_key)
    key = "sk-newline-canary-2236\nx-injected: 1"
    result = run(project, "--debug", "plan", key=key)
    assert 1 == result.exit_code
    assert "sk-newline-canary-2236" not in result.stdout + result.stderr
    assert "internal error" not in result.stderr


def crashing_group() -> ReconcilerGroup:
    """Our real group and handler, with one command that fails as an unforeseen bug would."""
    group = ReconcilerGroup(name="reconciler", params=[click.Option(["--debug"], is_flag=True)])

    @group.command()
    def crash() -> None:
        raise RuntimeError(f"unexpected answer: {{'authorization': '{KEY}'}}")

    return group


@DEBUG
def test_an_unexpected_exception_quoting_the_key_is_shown_without_it(debug):
    """`internal error: ...` and the --debug traceback both show *** where the key was."""
    Secret(KEY)
    result = CliRunner().invoke(crashing_group(), [*debug, "crash"])
    shown = result.stdout + result.stderr
    if debug:
        assert isinstance(result.exception, DebugTraceback)
        shown += "".join(traceback.format_exception(result.exception))
        assert "RuntimeError: unexpected answer: {'authorization': '***'}" in shown
    else:
        assert 1 == result.exit_code
        assert "internal error: RuntimeError: unexpected answer: {'authorization': '***'}" in shown
    assert KEY not in shown
