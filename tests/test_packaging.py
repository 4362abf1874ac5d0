"""What `pip install` gives a user: the distribution's name, its command, one version, the pins.

`reconciler` on the package index is an unrelated project, so ours is `eval-reconciler`; the
import package and the command stay `reconciler`. The version lives in `reconciler.__version__`
alone, and every pin the docs give (`rev:` for pre-commit, `@vN` for the action) follows the tag
scheme docs/ci.md explains: tag `vX.Y.Z` at release, moving major tag `vX`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import distribution
from pathlib import Path

import reconciler

ROOT = Path(__file__).resolve().parent.parent
DIST = "eval-reconciler"
DOCS = [
    ROOT / "README.md",
    ROOT / "action.yml",
    ROOT / ".pre-commit-hooks.yaml",
    *sorted((ROOT / "docs").rglob("*.md")),
    *sorted(p for p in (ROOT / "examples" / "ci").rglob("*") if p.is_file()),
]


def test_version_prints_the_one_version() -> None:
    """The installed command, the installed metadata and the package agree on one version."""
    command = Path(sys.executable).parent / "reconciler"
    result = subprocess.run(
        [str(command), "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    assert 0 == result.returncode, result.stderr
    assert f"reconciler, version {reconciler.__version__}\n" == result.stdout
    assert reconciler.__version__ == distribution(DIST).version


def test_the_version_is_written_only_in_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert ["version"] == project["project"]["dynamic"]
    dynamic = project["tool"]["setuptools"]["dynamic"]["version"]
    assert {"attr": "reconciler.__version__"} == dynamic


def test_the_distribution_is_eval_reconciler_and_installs_the_reconciler_command() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert DIST == project["project"]["name"]
    scripts = {
        ep.name: ep.value for ep in distribution(DIST).entry_points if ep.group == "console_scripts"
    }
    assert {"reconciler": "reconciler.cli:main"} == scripts


def _occurrences(pattern: str) -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        for match in re.finditer(pattern, path.read_text(encoding="utf-8")):
            found.append((str(path.relative_to(ROOT)), match.group(1)))
    return found


def test_no_doc_installs_the_unrelated_reconciler_from_the_index() -> None:
    """`pip install reconciler` (or `reconciler==X`) would install someone else's project."""
    bad = _occurrences(r"""(pip install\s+(?:-\S+\s+)*["']?reconciler(?![\w.-]*/)[=<>\s"'$]?)""")
    assert [] == bad


def test_pre_commit_revs_are_the_release_tag_of_this_version() -> None:
    revs = _occurrences(r"\brev:\s*([\w.]+)")
    assert revs, "the docs show no pre-commit `rev:`"
    assert [(doc, f"v{reconciler.__version__}") for doc, _ in revs] == revs


def test_the_gitlab_example_pins_this_version_of_eval_reconciler() -> None:
    pins = _occurrences(r'RECONCILER_VERSION: "([^"]*)"')
    assert [("examples/ci/gitlab/.gitlab-ci.yml", reconciler.__version__)] == pins


def test_action_pins_are_the_major_tag_or_the_release_tag_of_this_version() -> None:
    major = reconciler.__version__.split(".")[0]
    tags = {f"v{major}", f"v{reconciler.__version__}"}
    pins = _occurrences(r"reconciler-dev/reconciler@([\w.]+)")
    assert pins, "the docs show no `uses: reconciler-dev/reconciler@...`"
    assert [] == [(doc, pin) for doc, pin in pins if pin not in tags]
