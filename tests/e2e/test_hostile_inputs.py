"""One table of hostile inputs: each gives exit 1 and exactly one `Error:` line, never a traceback.

A row is one `row(id, command line, what the error says, files to write first)`. The project
is the Bland one of tests/e2e/test_bland.py against a fresh emulator; `files` are written into
it (relative paths) before the command runs with `-C <project>`. Rows so far: saved plan files
and output paths (#10); manifests and vendor answers go in the same table.
"""

# ruff: noqa: E501  (a row of the table is one line)
from __future__ import annotations

import copy
import json
import shlex
from dataclasses import dataclass, field

import pytest

from reconciler.render.json import FORMAT_VERSION
from tests.e2e.test_bland import Project

DELETE = object()  # in saved_plan(): remove the key

_SAVED_PLAN: dict = {
    "format_version": FORMAT_VERSION,
    "workspace": "support-evals",
    "targeted": False,
    "refusal": None,
    "summary": {"create": 0, "cancel": 0, "replace": 0, "no_op": 0, "text": "No changes."},
    "changes": [],
    "cost": {"total_usd": 0, "unknown": 0, "refusal": None},
    "counts": [],
    "notes": [],
    "prior_state": {"bland": {"fingerprint": "0" * 64, "runs": {}}},
    "options": {"targets": [], "excludes": [], "allow_mass_cancel": False},
}


def saved_plan(edits: dict[str, object] | None = None) -> str:
    """Return a well-formed saved plan's text with dotted-path `edits` (value DELETE: remove)."""
    document = copy.deepcopy(_SAVED_PLAN)
    for dotted, value in (edits or {}).items():
        *parents, last = dotted.split(".")
        node = document
        for key in parents:
            node = node[key]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return json.dumps(document, indent=2)


@dataclass(frozen=True)
class Hostile:
    args: tuple[str, ...]
    error: str  # a part of the one `Error:` line
    files: dict[str, str | bytes] = field(default_factory=dict)


def row(id: str, command: str, error: str, files: dict[str, str | bytes] | None = None):
    """Return one table row: `command` is split like a shell line."""
    return pytest.param(Hostile(tuple(shlex.split(command)), error, files or {}), id=id)


EMULATED = (
    "workspace: emulated\nmanifests: [evals/*.yaml]\nproviders:\n  bland: {base_url: emulator}\n"
)

TABLE = [
    # --- saved plan files (apply FILE, status --plan FILE) ---
    row("plan-file-missing", "apply plan.json", "cannot read the plan file: No such file"),
    row("plan-file-is-a-directory", "apply evals", "cannot read the plan file: Is a directory"),
    row("plan-file-empty", "apply plan.json", "plan.json:1: not a plan file (invalid JSON", {"plan.json": ""}),
    row("plan-file-invalid-json", "apply plan.json", "not a plan file (invalid JSON", {"plan.json": "{nope"}),
    row("plan-file-truncated", "apply plan.json", "not a plan file (invalid JSON", {"plan.json": saved_plan()[:150]}),
    row("plan-file-not-utf8", "apply plan.json", "not a plan file (not UTF-8 text)", {"plan.json": b"\xff\xfe{}"}),
    row("plan-file-not-an-object", "apply plan.json", "not a plan file (not a JSON object)", {"plan.json": "[1, 2]"}),
    row("plan-file-newer-format", "apply plan.json", "format_version: '2.0' is not a plan format", {"plan.json": saved_plan({"format_version": "2.0"})}),
    row("plan-file-json-output", "apply plan.json", "this is JSON plan output, not a saved plan", {"plan.json": saved_plan({"options": DELETE})}),
    row("plan-file-targets-not-a-list", "apply plan.json", "plan.json: options.targets: 5 is not of type 'array'", {"plan.json": saved_plan({"options.targets": 5})}),
    row("plan-file-missing-key", "apply plan.json", "plan.json: (the whole file): 'workspace' is a required property", {"plan.json": saved_plan({"workspace": DELETE})}),
    row("plan-file-prior-state-not-an-object", "apply plan.json", "plan.json: prior_state.bland: 7 is not of type 'object'", {"plan.json": saved_plan({"prior_state.bland": 7})}),
    row("plan-file-unknown-vendor", "apply plan.json", "prior_state.acme: not a vendor reconciler knows", {"plan.json": saved_plan({"prior_state.acme": {"fingerprint": "0" * 64, "runs": {}}})}),
    row("plan-file-change-not-an-object", "apply plan.json", "plan.json: changes[0]: 'x' is not of type 'object'", {"plan.json": saved_plan({"changes": ["x"]})}),
    row("status-plan-file-wrong-shape", "status --plan plan.json", "plan.json: options.excludes: 'x' is not of type 'array'", {"plan.json": saved_plan({"options.excludes": "x"})}),
    # --- output paths (plan -out, status -o, the embedded emulator's state) ---
    row("out-directory-missing", "plan -out missing/plan.json", "directory", {}),
    row("out-parent-is-a-file", "plan -out notes.txt/plan.json", "is a file, not a directory", {"notes.txt": "x"}),
    row("out-is-a-directory", "plan -out evals", "evals: is a directory. Name a file"),
    row("status-o-directory-missing", "status -o junit:missing/report.xml", "missing/report.xml: directory"),
    row("status-o-parent-is-a-file", "status -o json:notes.txt/s.json", "is a file, not a directory", {"notes.txt": "x"}),
    row("state-dir-is-a-file", "plan", ".reconciler: cannot create the embedded emulator's state directory", {"reconciler.yaml": EMULATED, ".reconciler": "x"}),
    # --- comment --file (relative to -C DIR, like every path) ---
    row("comment-file-missing", "comment --repo o/r --pr 1 --file comment.md", "comment.md: cannot read the comment (No such file or directory)"),
    row("comment-file-not-utf8", "comment --repo o/r --pr 1 --file comment.md", "comment.md: cannot read the comment (not UTF-8 text)", {"comment.md": b"\xff<!--"}),
    # --- scope globs that match nothing (a typo must not read as `No changes.`) ---
    row("target-matches-nothing", "plan --target BlandEvalRun/nightlyy", "--target 'BlandEvalRun/nightlyy' matches no declared address and no live run"),
    row("exclude-matches-nothing", "plan --exclude 'Bland*/x'", "--exclude 'Bland*/x' matches no declared address"),
    row("status-target-matches-nothing", "status --target Arize*", "--target 'Arize*' matches no declared address"),
]  # fmt: skip


@pytest.fixture
def project(tmp_path, start_emulator) -> Project:
    project = Project(root=tmp_path / "repo", base_url=start_emulator(seed=7))
    project.root.mkdir()
    project.configure()
    project.declare("nightly")
    return project


@pytest.mark.parametrize("hostile", TABLE)
def test_a_hostile_input_is_one_clear_error_line(project, hostile):
    for name, content in hostile.files.items():
        path = project.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    result = project.run(*hostile.args)

    assert 1 == result.exit_code, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert 1 == len(errors), result.stderr
    assert hostile.error in errors[0]
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr + result.stdout
