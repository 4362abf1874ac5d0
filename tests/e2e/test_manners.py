"""Terraform's manners where users expect them (#11): the prompt, globs, options, progress."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest

from reconciler.cli import cli
from tests.e2e.test_bland import API_KEY, Project, runs_at_vendor


@pytest.fixture
def project(tmp_path, start_emulator, clock) -> Project:
    project = Project(root=tmp_path, base_url=start_emulator(seed=7, clock=clock))
    project.configure()
    project.declare("checkout-nightly")
    project.declare("refunds-weekly", calls=3)
    return project


class TestThePrompt:
    def test_answering_no_at_the_prompt_cancels_the_apply_and_exits_1(self, project):
        """Driven through a real terminal: `Apply cancelled.`, exit 1, nothing created."""
        controller, terminal = pty.openpty()
        try:
            os.write(controller, b"no\n")
            done = subprocess.run(
                [sys.executable, "-m", "reconciler.cli", "-C", str(project.root), "apply"],
                stdin=terminal,
                capture_output=True,
                text=True,
                env={**os.environ, "BLAND_API_KEY": API_KEY},
                timeout=60,
            )
        finally:
            os.close(controller)
            os.close(terminal)

        assert 1 == done.returncode, done.stderr
        assert "Apply these changes?" in done.stdout
        assert ["Apply cancelled."] == done.stderr.strip().splitlines()
        assert [] == runs_at_vendor(project.base_url)


class TestScopeGlobs:
    def test_a_target_that_names_only_a_live_run_is_no_typo(self, project):
        """A pruned run's address is matched by the live run, not by a document."""
        assert 0 == project.run("apply", "--auto-approve").exit_code
        project.remove("refunds-weekly")
        result = project.run("plan", "--target", "BlandEvalRun/refunds-*")
        assert 0 == result.exit_code, result.stderr
        assert "- cancel BlandEvalRun/refunds-weekly" in result.stdout

    def test_a_target_typo_is_an_error_not_no_changes(self, project):
        assert 0 == project.run("apply", "--auto-approve").exit_code
        result = project.run("plan", "--detailed-exitcode", "--target", "BlandEvalRun/chekout-*")
        assert 1 == result.exit_code
        assert "No changes." not in result.stdout
        assert result.stderr.startswith(
            "Error: --target 'BlandEvalRun/chekout-*' matches no declared address and no live run."
        )


class TestGlobalOptions:
    def test_global_options_work_after_the_command(self, project):
        """So a pre-commit hook can take `args: [-C, dir]`."""
        env = {"BLAND_API_KEY": API_KEY}
        validate = project.runner.invoke(cli, ["validate", "-C", str(project.root)], env=env)
        assert 0 == validate.exit_code, validate.stderr
        assert validate.stdout.startswith("Valid: 2 resource(s) in 2 file(s)")
        plan = project.runner.invoke(cli, ["plan", "--no-color", "-C", str(project.root)], env=env)
        assert 0 == plan.exit_code, plan.stderr
        assert "Plan: 2 to create" in plan.stdout
        debug = project.runner.invoke(cli, ["status", "-C", str(project.root), "--debug"], env=env)
        quiet = project.runner.invoke(cli, ["-C", str(project.root), "status"], env=env)
        assert "/v1/evals/runs" in debug.stderr
        assert "/v1/evals/runs" not in quiet.stderr

    def test_an_option_after_the_command_wins_over_one_before_it(self, project, tmp_path):
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        result = project.runner.invoke(
            cli,
            ["-C", str(elsewhere), "validate", "-C", str(project.root)],
            env={"BLAND_API_KEY": API_KEY},
        )
        assert 0 == result.exit_code, result.stderr

    def test_a_relative_config_file_is_relative_to_the_project_directory(self, project):
        """-C is Terraform's -chdir: `--config` too is read from inside DIR."""
        (project.root / "reconciler.yaml").rename(project.root / "other.yaml")
        result = project.run("--config", "other.yaml", "validate")
        assert 0 == result.exit_code, result.stderr

    @pytest.mark.parametrize("command", ["plan", "apply", "status", "validate"])
    def test_help_shows_each_global_option_once(self, project, command):
        text = project.runner.invoke(cli, [command, "--help"]).stdout
        assert 1 == text.count("-C DIR")
        assert 1 == text.count("--no-color")
        assert "Global options (before or after the command):" in text


class TestStatusProgress:
    def test_progress_counts_runs_not_resources_without_runs(self, project):
        assert 0 == project.run("apply", "--auto-approve").exit_code
        project.declare("not-applied-yet")
        result = project.run("status")
        assert 1 == result.exit_code  # a resource without a run is an error
        assert "status: 0/2 run(s) finished" in result.stderr

    def test_status_without_a_timeout_does_not_say_it_timed_out(self, project):
        assert 0 == project.run("apply", "--auto-approve").exit_code
        result = project.run("status", "--timeout", "0")
        assert 4 == result.exit_code  # still running
        assert "Status: 2 resource(s): 2 running." in result.stdout
        assert "timed out" not in result.stdout + result.stderr
        as_json = json.loads(project.run("status", "--format", "json").stdout)
        assert as_json["timed_out"] is False
