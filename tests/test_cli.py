"""The command line's contract with CI: exit codes, streams, no tracebacks."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from reconciler.cli import ExitCode, cli
from tests.examples import copy_examples


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_a_usage_error_exits_1_not_2_so_ci_never_reads_it_as_changes(runner):
    result = runner.invoke(cli, ["plan", "--no-such-flag"])
    assert ExitCode.ERROR == result.exit_code
    assert "No such option '--no-such-flag'" in result.stderr


def test_an_unknown_command_exits_1(runner):
    result = runner.invoke(cli, ["plna"])
    assert ExitCode.ERROR == result.exit_code
    assert "No such command 'plna'" in result.stderr


def test_a_bad_choice_exits_1(runner):
    result = runner.invoke(cli, ["plan", "--format", "yaml"])
    assert ExitCode.ERROR == result.exit_code
    assert "'yaml' is not one of 'text', 'json', 'markdown'" in result.stderr


def test_version_prints_the_package_version(runner):
    result = runner.invoke(cli, ["--version"])
    assert ExitCode.OK == result.exit_code
    assert result.stdout.startswith("reconciler, version ")


def test_help_lists_every_command(runner):
    result = runner.invoke(cli, ["--help"])
    assert ExitCode.OK == result.exit_code
    for command in ("validate", "plan", "apply", "emulator"):
        assert command in result.stdout


def test_a_missing_config_is_one_line_on_stderr_with_no_traceback(runner, tmp_path):
    result = runner.invoke(cli, ["-C", str(tmp_path), "validate"])
    assert ExitCode.ERROR == result.exit_code
    assert "" == result.stdout
    assert "Traceback" not in result.stderr
    assert 1 == len(result.stderr.strip().splitlines())
    assert "reconciler.yaml" in result.stderr


def test_status_with_a_saved_plan_talks_to_one_embedded_emulator_not_two(runner, tmp_path):
    """`status --plan` plans and judges in one session: one emulator serves both, on one file.

    The --debug log names every request's URL; two emulators on one SQLite file showed as
    two loopback ports.
    """
    root = copy_examples(tmp_path)
    saved = runner.invoke(cli, ["-C", str(root), "plan", "-out", "plan.json"])
    assert ExitCode.OK == saved.exit_code, saved.stderr
    args = ["-C", str(root), "--debug", "status", "--plan", "plan.json", "--format", "markdown"]
    result = runner.invoke(cli, args)
    assert ExitCode.ERROR == result.exit_code, result.stderr  # nothing applied: no run yet
    assert "### reconciler plan for" in result.stdout
    assert "### reconciler status for" in result.stdout
    ports = set(re.findall(r"url=http://127\.0\.0\.1:(\d+)/", result.stderr))
    assert 1 == len(ports), sorted(ports)
