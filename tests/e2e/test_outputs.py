"""Output files and what they show: a path that cannot be written is one line, never a traceback.

Permission tests cannot use chmod alone: CI runs as root, which writes anywhere. They run the
CLI in a forked child that drops to the user `nobody` (when root) before it starts, in a
directory tree that user may read but not write.
"""

from __future__ import annotations

import importlib
import json
import os
import pwd
import shutil
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from tests.e2e.test_bland import API_KEY, Project, runs_at_vendor

# Imported before the fork: the child may not read the interpreter's own library directory.
PRELOAD = (
    "reconciler.apply",
    "reconciler.cost",
    "reconciler.emulator",
    "reconciler.live",
    "reconciler.manifest",
    "reconciler.outputs",
    "reconciler.plan",
    "reconciler.planfile",
    "reconciler.providers.registry",
    "reconciler.render.json",
    "reconciler.render.markdown",
    "reconciler.render.status",
    "reconciler.render.text",
    "reconciler.status",
    "shlex",
    "signal",
    "sqlite3",
)


def run_unprivileged(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run the CLI in a forked child as `nobody` (when root); return exit code, stdout, stderr."""
    for name in PRELOAD:
        importlib.import_module(name)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, run, report through the pipe, never return
        try:
            os.close(read)
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            result = CliRunner().invoke(cli, args, env=env)
            with os.fdopen(write, "w") as stream:
                json.dump([result.exit_code, result.stdout, result.stderr], stream)
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as stream:
        payload = stream.read()
    os.waitpid(pid, 0)
    code, stdout, stderr = json.loads(payload)
    return code, stdout, stderr


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory outside pytest's private tmp tree, which `nobody` may read but not write."""
    path = Path(tempfile.mkdtemp(prefix="reconciler-outputs-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def readable(root: Path) -> None:
    """Let anyone read (not write) what the test wrote under `root`."""
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def one_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert 1 == len(lines), stderr
    assert "Traceback" not in stderr
    assert "internal error" not in stderr
    return lines[0]


@pytest.fixture
def project(tmp_path, start_emulator, clock) -> Project:
    project = Project(root=tmp_path / "repo", base_url=start_emulator(seed=7, clock=clock))
    project.root.mkdir()
    project.configure()
    project.declare("nightly")
    return project


class TestUnwritable:
    def test_plan_out_into_a_directory_it_cannot_write_is_one_line(self, shared_dir, emulator_url):
        project = Project(root=shared_dir / "repo", base_url=emulator_url)
        project.root.mkdir(mode=0o755)
        project.configure()
        project.declare("nightly")
        readable(shared_dir)
        locked = shared_dir / "locked"
        locked.mkdir(mode=0o555)

        code, _, stderr = run_unprivileged(
            ["-C", str(project.root), "plan", "-out", str(locked / "plan.json")],
            env={"BLAND_API_KEY": API_KEY},
        )

        assert 1 == code
        assert (
            f"Error: {locked / 'plan.json'}: cannot write in directory {locked} "
            "(permission denied). Write the file elsewhere, or make the directory writable"
        ) == one_error(stderr)
        assert [] == list(locked.iterdir())

    @pytest.mark.parametrize(
        ("locked", "message"),
        [
            ("", "cannot create the embedded emulator's state directory (Permission denied)"),
            (".reconciler", "the embedded emulator cannot write its state there"),
            (".reconciler/emulator.sqlite3", "the embedded emulator cannot write its state there"),
        ],
        ids=["project-read-only", "state-dir-read-only", "state-file-read-only"],
    )
    def test_an_embedded_emulator_that_cannot_keep_its_state_is_one_line(
        self, shared_dir, locked, message
    ):
        project = Project(root=shared_dir, base_url="emulator")
        project.configure()
        project.declare("nightly")
        if locked:
            (shared_dir / ".reconciler").mkdir()
        if locked.endswith(".sqlite3"):
            (shared_dir / locked).write_bytes(b"")
        readable(shared_dir)  # nobody may read every file, and write none it did not make
        if locked.endswith(".sqlite3"):
            (shared_dir / ".reconciler").chmod(0o777)

        code, _, stderr = run_unprivileged(
            ["-C", str(shared_dir), "plan"], env={"BLAND_API_KEY": API_KEY}
        )

        assert 1 == code
        assert one_error(stderr).startswith(f"Error: {shared_dir / '.reconciler'}: {message}")


class TestStatusFiles:
    def test_status_prints_its_result_before_it_fails_on_a_report_file(self, project, tmp_path):
        assert 0 == project.run("apply", "--auto-approve").exit_code
        missing = tmp_path / "no-such-dir" / "report.xml"

        result = project.run("status", "-o", f"junit:{missing}")

        assert 1 == result.exit_code
        assert "Status: 1 resource(s): 1 running." in result.stdout
        assert (
            f"Error: {missing}: directory {missing.parent} does not exist. "
            f"Create it first (mkdir -p {missing.parent}) or write the file elsewhere"
        ) == one_error(result.stderr)

    def test_report_files_land_relative_to_the_project_directory(self, project):
        assert 0 == project.run("apply", "--auto-approve").exit_code
        result = project.run("status", "-o", "json:status.json")
        assert 4 == result.exit_code, result.stderr
        assert "nightly" in (project.root / "status.json").read_text()


class TestWorkspaceFromTheEnvironment:
    SECRET = "team-from-env-9c4e"

    def test_a_workspace_from_env_is_masked_in_every_output(self, project, tmp_path):
        (project.root / "reconciler.yaml").write_text(
            textwrap.dedent(
                f"""\
                workspace: "${{TEAM_WORKSPACE}}"
                manifests: ["evals/**/*.yaml"]
                providers:
                  bland:
                    api_key: "${{BLAND_API_KEY}}"
                    base_url: {project.base_url}
                """
            )
        )
        env = {"BLAND_API_KEY": API_KEY, "TEAM_WORKSPACE": self.SECRET}

        def run(*args: str):
            result = project.runner.invoke(cli, ["-C", str(project.root), *args], env=env)
            assert result.exit_code in (0, 4), result.stderr
            return result.stdout + result.stderr

        shown = [
            run("plan"),
            run("plan", "--format", "json"),
            run("plan", "--format", "markdown"),
            run("plan", "-out", "plan.json"),
            run("apply", "plan.json"),
            run("status", "--format", "markdown", "-o", "json:status.json"),
        ]
        shown += [(project.root / f).read_text() for f in ("plan.json", "status.json")]

        assert [] == [text for text in shown if self.SECRET in text]
        assert "<!-- reconciler:*** -->" in shown[2]
        # The workspace still labels the runs at the vendor: only what is shown is masked.
        labels = [r["metadata"]["reconciler.workspace"] for r in runs_at_vendor(project.base_url)]
        assert [self.SECRET] == labels
