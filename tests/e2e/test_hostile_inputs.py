"""One table of hostile inputs: each gives exit 1 and exactly one `Error:` line, never a traceback.

A row is one `row(id, command line, what the error says, files to write first)`. The project
is the Bland one of tests/e2e/test_bland.py against a fresh emulator; `files` are written into
it (relative paths) before the command runs with `-C <project>`: text, bytes, a `Symlink` or a
`Fifo`. A row with `vendor=` points the project at a hostile vendor on loopback that answers
every request with that (status, JSON body) instead of the emulator.
"""

# ruff: noqa: E501  (a row of the table is one line)
from __future__ import annotations

import copy
import json
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from reconciler.render.json import FORMAT_VERSION
from tests.e2e.test_bland import AGENT, API_KEY, CALLS, Project
from tests.providers.hostile import hostile_vendor

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
class Symlink:
    target: str


@dataclass(frozen=True)
class Fifo:
    pass


File = str | bytes | Symlink | Fifo
VendorAnswer = Callable[[str, str, dict[str, str]], tuple[int, object]]


@dataclass(frozen=True)
class Hostile:
    args: tuple[str, ...]
    error: str  # a part of the one `Error:` line
    files: dict[str, File] = field(default_factory=dict)
    vendor: VendorAnswer | None = None


def row(
    id: str,
    command: str,
    error: str,
    files: dict[str, File] | None = None,
    *,
    vendor: VendorAnswer | None = None,
):
    """Return one table row: `command` is split like a shell line."""
    return pytest.param(Hostile(tuple(shlex.split(command)), error, files or {}, vendor), id=id)


def manifest(body: str) -> str:
    """Return a BlandEvalRun document named `hostile` whose spec ends with `body`."""
    return (
        "apiVersion: reconciler/v1\nkind: BlandEvalRun\nmetadata: {name: hostile}\n"
        f"spec:\n  call_ids: [{CALLS[0]}]\n  attached_agents: [{{eval_agent_id: {AGENT}, weight: 100}}]\n"
        + body
    )


def laughs(levels: int = 9) -> str:
    """Return a billion-laughs document: each level is nine aliases of the one before."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels + 1):
        lines.append(f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def bland_list(items: object, *, has_more: object = False) -> VendorAnswer:
    """A Bland that answers every list with `items` and `has_more`, and anything else 404."""

    def answer(method: str, path: str, query: dict[str, str]) -> tuple[int, object]:
        if method == "GET" and path == "/v1/evals/runs":
            cursor = str(int(query.get("starting_after", "0")) + 1)  # always a new one
            return 200, {"data": {"data": items, "has_more": has_more, "next_cursor": cursor}}
        return 404, {"errors": [{"error": "NOT_FOUND", "message": "no such route"}]}

    return answer


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
    # --- manifests: files a glob reaches but cannot read, and hostile YAML (validate, then plan) ---
    row("manifest-dangling-symlink", "plan", "evals/vendored.yaml: is a symlink to", {"evals/vendored.yaml": Symlink("../submodule/evals.yaml")}),
    row("manifest-symlink-loop", "validate", "evals/loop.yaml: is a symlink loop", {"evals/loop.yaml": Symlink("loop.yaml")}),
    row("manifest-fifo", "plan", "evals/pipe.yaml: is a named pipe (FIFO), not a regular file", {"evals/pipe.yaml": Fifo()}),
    row("manifest-not-utf8", "validate", "evals/latin1.yaml", {"evals/latin1.yaml": b"apiVersion: reconciler/v1\nkind: BlandEvalRun # caf\xe9\n"}),
    row("manifest-unknown-tag", "validate", "!Ref", {"evals/tag.yaml": manifest("  run_mode: !Ref mode\n")}),
    row("manifest-binary", "validate", "evals/bin.yaml:", {"evals/bin.yaml": manifest("  run_mode: !!binary aGVsbG8=\n")}),
    row("manifest-huge-integer", "validate", "evals/big.yaml:", {"evals/big.yaml": manifest("  pass_threshold_pct: 123456789012345678901234567890\n")}),
    row("manifest-nan", "validate", "evals/nan.yaml:", {"evals/nan.yaml": manifest("  pass_threshold_pct: .nan\n")}),
    row("manifest-infinity", "plan", "evals/inf.yaml:", {"evals/inf.yaml": manifest("  pass_threshold_pct: .inf\n")}),
    row("manifest-date-out-of-range", "validate", "evals/date.yaml:", {"evals/date.yaml": manifest("lifecycle: {rerun_after: 99999-01-01T00:00:00Z}\n")}),
    row("manifest-too-deep", "validate", "evals/deep.yaml:", {"evals/deep.yaml": manifest("  run_mode: " + "[" * 200 + "]" * 200 + "\n")}),
    row("manifest-billion-laughs", "validate", "evals/laughs.yaml:", {"evals/laughs.yaml": laughs()}),
    row("manifest-foreign-yaml-by-default", "validate", "manifests:", {"reconciler.yaml": "workspace: w\nproviders: {bland: {base_url: emulator}}\n", "docker-compose.yaml": "services: {web: {image: nginx}}\n"}),
    # --- vendor answers the pages do not allow: the listing fails (rule 9), naming the vendor ---
    row("vendor-list-item-null", "plan", "bland: list runs failed", vendor=bland_list([None])),
    row("vendor-list-item-not-an-object", "plan", "bland: list runs failed", vendor=bland_list(["run-1"])),
    row("vendor-has-more-a-string", "plan", "bland: list runs failed", vendor=bland_list([], has_more="false")),
    row("vendor-endless-empty-pages", "plan", "bland: list runs failed", vendor=bland_list([], has_more=True)),
    row("vendor-list-data-not-a-list", "plan", "bland: list runs failed", vendor=bland_list({"runs": []})),
    row("vendor-very-deep-json", "plan", "bland: list runs failed", vendor=lambda m, p, q: (200, b"[" * 100_000 + b"]" * 100_000)),
    row("vendor-run-with-garbage-date", "plan", "bland: list runs failed", vendor=bland_list([{"id": "r1", "status": "running", "created_at": "yesterday"}])),
    row("vendor-401-echoing-the-key", "plan", "providers.bland.api_key", vendor=lambda m, p, q: (401, {"errors": [{"error": "UNAUTHORIZED", "message": f"bad key {API_KEY}"}]})),
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
        elif isinstance(content, Symlink):
            path.symlink_to(content.target)
        elif isinstance(content, Fifo):
            os.mkfifo(path)
        else:
            path.write_text(content)

    if hostile.vendor is None:
        result = project.run(*hostile.args)
    else:
        with hostile_vendor(hostile.vendor) as vendor:
            project.base_url = vendor.url
            project.configure()
            result = project.run(*hostile.args)

    assert 1 == result.exit_code, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert 1 == len(errors), result.stderr
    assert hostile.error in errors[0]
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr + result.stdout
    assert API_KEY not in result.stderr + result.stdout
