"""The pre-commit hook as a user meets it: the real `pre-commit try-repo` on a new repository.

`.pre-commit-hooks.yaml` promises an offline, keyless `reconciler validate`. pre-commit installs
this repository into its own virtualenv (from the package index, as on a developer's machine)
and runs the hook there, with no vendor key in the environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")

CONFIG = """\
workspace: hook-test
manifests: ["evals/*.yaml"]
providers:
  bland:
    api_key: "${BLAND_API_KEY}"
"""

MANIFEST = """\
apiVersion: reconciler/v1
kind: BlandEvalRun
metadata: {name: checkout-nightly}
spec:
  call_ids: [a1b2c3d4-0000-4000-8000-000000000001]
  attached_agents: [{eval_agent_id: 11111111-aaaa-4bbb-8ccc-000000000001, weight: 100}]
  run_mode: text
  pass_threshold_pct: 75
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def hook_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit cache for the module: the hook's virtualenv is built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "evals-repo"
    (repo / "evals").mkdir(parents=True)
    (repo / "reconciler.yaml").write_text(CONFIG)
    (repo / "evals" / "checkout.yaml").write_text(MANIFEST)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    return repo


def _try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("BLAND_", "ADALINE_", "ARIZE_", "RECONCILER_", "PRE_COMMIT"))
    }
    environ.update(PRE_COMMIT_HOME=str(home), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t")
    return subprocess.run(
        [str(PRE_COMMIT), "try-repo", str(ROOT), "reconciler-validate", "--all-files"],
        cwd=repo,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_hook_passes_a_good_manifest_without_any_vendor_key(user_repo, hook_home):
    assert shutil.which("git")

    result = _try_repo(user_repo, hook_home)

    assert 0 == result.returncode, result.stdout + result.stderr
    assert "reconciler validate" in result.stdout
    assert "Passed" in result.stdout


def test_the_hook_fails_a_typo_with_the_one_line_error(user_repo, hook_home):
    typo = MANIFEST.replace("pass_threshold_pct", "pass_treshold_pct")
    (user_repo / "evals" / "checkout.yaml").write_text(typo)
    _git(user_repo, "add", "-A")

    result = _try_repo(user_repo, hook_home)

    assert 1 == result.returncode, result.stdout + result.stderr
    assert "Failed" in result.stdout
    errors = [line for line in result.stdout.splitlines() if line.startswith("Error:")]
    assert 1 == len(errors), result.stdout
    assert (
        "Error: evals/checkout.yaml:8: spec.pass_treshold_pct: unknown field `pass_treshold_pct`."
        " Did you mean `pass_threshold_pct`?"
    ) == errors[0]
