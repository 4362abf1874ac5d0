"""Every path a manifest glob reaches and cannot read is an error naming it, never a skip.

A skipped manifest is a resource that vanished: plan would show its runs as `- cancel`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.errors import ManifestError
from reconciler.manifest import load_config, load_manifests

AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
CALLS = [f"a1b2c3d4-0000-4000-8000-{n:012d}" for n in range(1, 5)]
API_KEY = "sk-canary-manifest-files-0b7e"
NOBODY = 65534
NARROW = "or narrow `manifests:` in reconciler.yaml"
DANGLING = (
    "is a symlink to {}, which does not exist (a git submodule that was not checked out?); "
    "its resources would be read as deleted. Check it out (`git submodule update --init`), "
    f"remove the link, {NARROW}"
)


def manifest(name: str) -> str:
    """A valid BlandEvalRun named `name`."""
    calls = "\n".join(f"    - {c}" for c in CALLS[:2])
    return (
        f"apiVersion: reconciler/v1\nkind: BlandEvalRun\nmetadata:\n  name: {name}\n"
        f"spec:\n  call_ids:\n{calls}\n  attached_agents:\n    - eval_agent_id: {AGENT}\n"
    )


def project(root: Path, *, base_url: str | None = None) -> Path:
    """Write reconciler.yaml and evals/good.yaml under `root`; return evals/.

    With `base_url`, Bland is reached there with the key in BLAND_API_KEY.
    """
    bland = f'{{api_key: "${{BLAND_API_KEY}}", base_url: "{base_url}"}}' if base_url else "{}"
    (root / "reconciler.yaml").write_text(
        f'workspace: team\nmanifests: ["evals/**/*.yaml"]\nproviders:\n  bland: {bland}\n',
        encoding="utf-8",
    )
    evals = root / "evals"
    evals.mkdir()
    (evals / "good.yaml").write_text(manifest("good"), encoding="utf-8")
    return evals


def problems(root: Path) -> list[str]:
    """Load the project's manifests and return the printed problem lines."""
    config = load_config(root / "reconciler.yaml", environ={})
    with pytest.raises(ManifestError) as caught:
        load_manifests(config, environ={})
    return caught.value.lines()


class TestUnreadablePathsAreErrors:
    def test_a_dangling_symlink_manifest_is_named_with_its_target(self, tmp_path: Path) -> None:
        """A link into a submodule that CI did not check out is an error, not a skip."""
        evals = project(tmp_path)
        (evals / "shared.yaml").symlink_to("../vendor/shared/evals.yaml")
        expected = [f"evals/shared.yaml: {DANGLING.format('../vendor/shared/evals.yaml')}"]
        assert expected == problems(tmp_path)

    def test_a_dangling_symlink_directory_under_a_double_star_is_named(
        self, tmp_path: Path
    ) -> None:
        """`**` cannot tell whether a dangling link held manifests, so it names the link."""
        evals = project(tmp_path)
        (evals / "platform").symlink_to("../modules/platform/evals")
        expected = [f"evals/platform: {DANGLING.format('../modules/platform/evals')}"]
        assert expected == problems(tmp_path)

    def test_a_manifest_that_links_to_itself_is_a_symlink_loop(self, tmp_path: Path) -> None:
        """A link that loops is an error naming it, not a skip."""
        evals = project(tmp_path)
        (evals / "loop.yaml").symlink_to("loop.yaml")
        expected = [f"evals/loop.yaml: is a symlink loop. Point the link at a real file, {NARROW}"]
        assert expected == problems(tmp_path)

    def test_a_directory_link_back_up_the_tree_is_reported_and_the_walk_ends(
        self, tmp_path: Path
    ) -> None:
        """`evals/again -> ..` would make `**` walk for ever; the walk names where it loops."""
        evals = project(tmp_path)
        (evals / "again").symlink_to("..")
        expected = [
            "evals/again/evals: leads back to a directory above it (a symlink loop). "
            f"Remove the link, {NARROW}"
        ]
        assert expected == problems(tmp_path)

    def test_a_fifo_named_like_a_manifest_is_an_error_and_never_blocks(
        self, tmp_path: Path
    ) -> None:
        """Opening a FIFO would wait for a writer for ever; it is refused by its type."""
        evals = project(tmp_path)
        os.mkfifo(evals / "pipe.yaml")
        expected = [
            f"evals/pipe.yaml: is a named pipe (FIFO), not a regular file. Remove it, {NARROW}"
        ]
        assert expected == problems(tmp_path)

    def test_a_socket_named_like_a_manifest_is_an_error(self) -> None:
        """A socket is no file to read; it is named (short path: sockets have a length limit)."""
        root = Path(tempfile.mkdtemp(prefix="rs"))
        try:
            evals = project(root)
            with socket.socket(socket.AF_UNIX) as server:
                server.bind(str(evals / "s.yaml"))
                expected = [f"evals/s.yaml: is a socket, not a regular file. Remove it, {NARROW}"]
                assert expected == problems(root)
        finally:
            shutil.rmtree(root)


@pytest.fixture
def shared_root() -> Iterator[Path]:
    """A project directory that user nobody can reach (tmp_path is root's own, mode 0700)."""
    root = Path(tempfile.mkdtemp(prefix="reconciler-perm-"))
    root.chmod(0o755)
    yield root
    for path in root.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(root)


def validate_as_nobody(root: Path) -> tuple[int, str, str]:
    """Run `reconciler validate` as user nobody, in a forked child: (exit code, stdout, stderr).

    Root reads every file whatever its mode, so the check needs another user; the child is
    forked (the interpreter lives where nobody cannot exec it) and drops to nobody first.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, run the real command, report, exit at once
        os.close(read_end)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            result = CliRunner().invoke(cli, ["-C", str(root), "validate"])
            payload = [result.exit_code, result.stdout, result.stderr]
        except BaseException as error:  # noqa: BLE001 - the parent reports it
            payload = [-1, "", repr(error)]
        with os.fdopen(write_end, "w") as pipe:
            json.dump(payload, pipe)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        code, stdout, stderr = json.load(pipe)
    os.waitpid(pid, 0)
    return code, stdout, stderr


class TestPermissions:
    def test_a_directory_the_walk_cannot_list_is_an_error_naming_it(
        self, shared_root: Path
    ) -> None:
        """`glob` skips a directory it may not read; the walk names it and exits 1."""
        evals = project(shared_root)
        private = evals / "private"
        private.mkdir()
        (private / "hidden.yaml").write_text(manifest("hidden"), encoding="utf-8")
        for path in (shared_root, evals, evals / "good.yaml", shared_root / "reconciler.yaml"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        private.chmod(0o700)
        result = validate_as_nobody(shared_root)
        expected = (
            "Error: evals/private: cannot list this directory: permission denied; the manifests "
            "in it would be read as deleted. Give the user running reconciler read and search "
            f"permission on it, {NARROW}\n"
        )
        assert (1, "", expected) == result

    def test_a_manifest_the_user_cannot_read_is_an_error_naming_it(self, shared_root: Path) -> None:
        """A file without read permission is named, not skipped."""
        evals = project(shared_root)
        (evals / "secret.yaml").write_text(manifest("secret"), encoding="utf-8")
        (evals / "secret.yaml").chmod(0o600)
        (evals / "good.yaml").chmod(0o644)
        (shared_root / "reconciler.yaml").chmod(0o644)
        evals.chmod(0o755)
        result = validate_as_nobody(shared_root)
        expected = (
            "Error: evals/secret.yaml: cannot read it: permission denied. Make it readable by "
            f"the user running reconciler, {NARROW}\n"
        )
        assert (1, "", expected) == result


def bland_runs(base_url: str) -> dict[str, str]:
    """Return {address: status} of every run the emulator holds, read over plain HTTP."""
    runs: dict[str, str] = {}
    cursor = None
    with httpx.Client(base_url=base_url, headers={"authorization": API_KEY}) as client:
        while True:
            params = {"limit": 100, **({"starting_after": cursor} if cursor else {})}
            page = client.get("/v1/evals/runs", params=params).json()["data"]
            for run in page["data"]:
                runs[run["metadata"]["reconciler.address"]] = run["status"]
            if not page["has_more"]:
                return runs
            cursor = page["next_cursor"]


def test_plan_and_apply_refuse_a_dangling_manifest_link_instead_of_cancelling_its_run(
    tmp_path: Path, start_emulator, clock
) -> None:
    """The run of a manifest whose file vanished behind a broken link is never cancelled."""
    url = start_emulator(seed=7, clock=clock)
    evals = project(tmp_path, base_url=url)
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    (vendor / "refunds.yaml").write_text(manifest("refunds"), encoding="utf-8")
    (evals / "refunds.yaml").symlink_to("../vendor/refunds.yaml")
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, ["-C", str(tmp_path), *args], env={"BLAND_API_KEY": API_KEY})

    created = run("apply", "--auto-approve")
    assert 0 == created.exit_code, created.stderr
    active = {"BlandEvalRun/good": "queued", "BlandEvalRun/refunds": "queued"}
    statuses = bland_runs(url)
    assert set(active) == set(statuses)

    shutil.rmtree(vendor)  # the submodule is not checked out in this CI job
    expected = f"Error: evals/refunds.yaml: {DANGLING.format('../vendor/refunds.yaml')}\n"
    planned = run("plan")
    assert (1, "", expected) == (planned.exit_code, planned.stdout, planned.stderr)
    applied = run("apply", "--auto-approve")
    assert (1, expected) == (applied.exit_code, applied.stderr)
    assert statuses == bland_runs(url)


def test_a_compose_file_beside_reconciler_yaml_says_manifests_narrows_the_set(
    tmp_path: Path,
) -> None:
    """With the default globs, a foreign YAML file's error says how to leave it out."""
    (tmp_path / "reconciler.yaml").write_text("workspace: team\n", encoding="utf-8")
    (tmp_path / "evals.yaml").write_text(manifest("good"), encoding="utf-8")
    (tmp_path / "docker-compose.yaml").write_text(
        textwrap.dedent(
            """\
            services:
              web:
                image: nginx
            """
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "validate"])
    expected = (
        "Error: docker-compose.yaml:1: apiVersion: apiVersion missing. Write `apiVersion: "
        "reconciler/v1`; if docker-compose.yaml is not a manifest, list yours in `manifests:` "
        "in reconciler.yaml to narrow the set (by default every *.yaml and *.yml beside it is "
        "read)\n"
    )
    assert (1, expected) == (result.exit_code, result.stderr)
