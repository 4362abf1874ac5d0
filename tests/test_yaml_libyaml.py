"""libyaml reads valid manifests; every answer is the one PyYAML's pure-Python reader gives.

reconciler.yamlcompose takes its events from libyaml (C) when it is installed, and reads again
with the pure-Python reader on any error or on text the two are known to read differently.
These tests hold the two paths to the same Documents (values, lines, sensitive paths) and
the same problems, over the shipped examples, the YAML the manifest tests write, a table of
broken and hostile texts, and generated YAML.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.yamlread import Reader
from tests.test_manifest_yaml import HEAD, billion_laughs

ROOT = Path(__file__).resolve().parent.parent
ENVIRON = {"BLAND_API_KEY": "sk-bland", "TOKEN": "t0ken"}


def read(text: str, *, fast: bool) -> tuple[list[tuple[Any, ...]], list[str], list[str]]:
    """Read `text` one way; return every Document's parts and the problems, as text."""
    reader = Reader("evals.yaml", ENVIRON, hold=lambda path: path[:1] == ("held",), fast=fast)
    documents = reader.read(text)
    parts = [
        (
            repr(d.value),
            d.line,
            sorted(d.lines.items(), key=repr),
            sorted(d.sensitive, key=repr),
            sorted(d.unresolved, key=repr),
            sorted(d.variables.items(), key=repr),
        )
        for d in documents
    ]
    return parts, [str(p) for p in reader.problems], [str(p) for p in reader.held]


def assert_alike(text: str) -> None:
    assert read(text, fast=False) == read(text, fast=True), repr(text[:200])


def shipped_yaml() -> list[Path]:
    """Every YAML file under examples/ (manifests, reconciler.yaml files, CI files)."""
    found = sorted((ROOT / "examples").rglob("*.y*ml"))
    assert len(found) >= 10  # the examples are there: this test reads something
    return found


def manifest_test_strings() -> list[str]:
    """Every string literal of the manifest and hostile-input tests: the YAML they write."""
    files = [
        *sorted(ROOT.glob("tests/test_manifest*.py")),
        ROOT / "tests/e2e/test_hostile_inputs.py",
    ]
    strings = {
        node.value
        for file in files
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and ":" in node.value
    }
    return sorted(strings)


@pytest.mark.parametrize("path", shipped_yaml(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_examples_read_the_same_both_ways(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert_alike(text)
    assert read(text, fast=True)[0]  # a real document, not two empty answers


def test_the_yaml_the_manifest_tests_write_reads_the_same_both_ways() -> None:
    strings = manifest_test_strings()
    assert len(strings) > 100
    for text in strings:
        assert_alike(text)
        assert_alike(HEAD + text)


HOSTILE = {
    "syntax-error": "apiVersion: reconciler/v1\nkind: [BlandEvalRun\n",
    "bad-indent": "a:\n  b: 1\n c: 2\n",
    "tab-separator": "a:\tb\n",
    "tab-indent": "a:\n\tb: 1\n",
    "header-comment": "a: |#note\n  text\n",
    "question-in-flow": "a: [what? this]\n",
    "bom-after-start": "a: 1\n\ufeffb: 2\n",
    "bom-at-start": "\ufeffa: 1\n",
    "no-last-newline": "a:\n- \n- ",
    "no-last-newline-block": "a: |\n  text",
    "cr-only": "a: 1\rb: 2\r",
    "nul": "a: \x00\n",
    "lone-surrogate": "a: \ud800\n",
    "escaped-surrogate": 'a: "\\ud800"\n',
    "undefined-alias": "a: *nowhere\n",
    "yaml-2": "%YAML 2.0\n---\na: 1\n",
    "deep-flow-100k": "a: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "deep-block-2k": "".join("  " * i + "k:\n" for i in range(2_000)),
    "deep-flow-maps": HEAD + "x: " + "{a: " * 5000 + "}" * 5000 + "\n",
    "billion-laughs": billion_laughs(),
    "recursive-alias": "a: &a [*a]\n",
    "recursive-merge": "a: &a {<<: *a}\n",
    "long-key": "x" * 1100 + ": 1\n",
    "custom-tag": "kind: !Ref BlandEvalRun\n",
    "env": "a: ${TOKEN}\nb: ${MISSING}\nc: ${not valid}\nheld: ${NOPE}\nd: $${TOKEN}\n",
    "env-in-key": "${TOKEN}: 1\n",
    "merge-of-list": "a: &a [1]\nb: {<<: *a}\n",
    "empty-values": "a: {b: , c: }\nd: [e: ]\n? f\n",
    "empty-documents": "---\n---\na: 1\n---\n...\n",
    "unicode-breaks": "a: 1\x85b: 2\u2028c: 3\n",
    "big-int": "a: 99999999999999999999\nb: .nan\nc: 1.0e+999\n",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_broken_and_hostile_texts_give_the_same_problems_both_ways(text: str) -> None:
    assert_alike(text)


def test_a_100k_deep_list_is_one_line_from_validate_not_a_crash(tmp_path: Path) -> None:
    """libyaml parses without recursion; the composer's depth limit still speaks first."""
    (tmp_path / "reconciler.yaml").write_text("workspace: team\nmanifests: [evals.yaml]\n")
    (tmp_path / "evals.yaml").write_text(HOSTILE["deep-flow-100k"], encoding="utf-8")
    command = [sys.executable, "-m", "reconciler.cli", "-C", str(tmp_path), "validate"]

    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    expected = (
        "Error: evals.yaml:1: nested deeper than 64 levels. Flatten the document; manifests "
        "need a handful of levels\n"
    )
    assert (1, expected) == (done.returncode, done.stderr)


def test_a_valid_manifest_never_runs_the_pure_python_scanner() -> None:
    """The speed: 1,000 manifests took 0.4 s in PyYAML's pure-Python scanner, 0.06 s here."""
    text = "---\n".join(HEAD.replace("nightly", f"run-{n}") for n in range(50))
    scanned: list[str] = []

    def watch(frame: Any, event: str, arg: object) -> None:
        if event == "call" and frame.f_code.co_filename.endswith(("scanner.py", "reader.py")):
            scanned.append(frame.f_code.co_filename)

    sys.setprofile(watch)
    try:
        documents = Reader("evals.yaml", ENVIRON).read(text)
    finally:
        sys.setprofile(None)
    assert (50, []) == (len(documents), scanned)


# Pieces of YAML, valid and not, the way people write and break it.
TOKENS = [
    *("a", "key", "1", "-1", "0x1F", "1.5", "true", "null", "~", ".inf", "2001-12-14"),
    *(" ", "  ", "\n", "\n", "\n  ", "\n    - ", "\n  a: ", "\n- ", "- ", ": ", ":", ","),
    *("[", "]", "{", "}", "? ", "#c", " #c", "'", '"', "\\", "&x ", "*x", "!t ", "!!str "),
    *("!!int ", "<<: ", "<<: *x", "|", ">", "|-", ">+", "|2", "---", "\n---\n", "..."),
    *("\t", "\r\n", "%", "@", "`", "é", "\u2028", "\x85", "\ufeff", "\\n", '"\\x41"'),
    *("${TOKEN}", "$${TOKEN}", "${", "%YAML 1.1\n", "!<a>", "- [a, b]", "{a: 1, b: [2]}"),
    *("k: |\n  t\n", "k: >-\n   t\n  u\n", '"a\n b"', "'a\n\n b'", "x" * 1030),
]


@settings(max_examples=400)
@given(
    st.lists(st.sampled_from(TOKENS), min_size=1, max_size=16).map("".join),
    st.booleans(),
)
def test_generated_yaml_reads_the_same_both_ways(text: str, newline: bool) -> None:
    assert_alike(text + "\n" if newline else text)


@settings(max_examples=200)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=12,
    ),
    st.sampled_from([None, True, False]),
)
def test_dumped_values_read_the_same_both_ways(value: object, flow: bool | None) -> None:
    """What PyYAML writes (any style, any characters) both readers read alike."""
    assert_alike(yaml.safe_dump(value, default_flow_style=flow, allow_unicode=True))


@pytest.mark.parametrize("tag", ["!!int", "!!float"])
def test_a_tag_with_no_value_is_a_problem_at_its_line_not_an_internal_error(
    tmp_path: Path, tag: str
) -> None:
    """`pass_threshold_pct: !!int` alone crashed validate with an IndexError."""
    (tmp_path / "reconciler.yaml").write_text("workspace: team\nmanifests: [evals.yaml]\n")
    text = HEAD.replace("spec:\n", f"spec:\n  pass_threshold_pct: {tag}\n")
    (tmp_path / "evals.yaml").write_text(text, encoding="utf-8")
    command = [sys.executable, "-m", "reconciler.cli", "-C", str(tmp_path), "validate"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    expected = (
        f"Error: evals.yaml:5: spec.pass_threshold_pct: an empty value is not a valid {tag}. "
        "Remove the tag, or write a value of that type\n"
    )
    assert (1, expected) == (done.returncode, done.stderr)


@pytest.mark.parametrize("fast", [True, False])
def test_a_file_broken_after_its_first_document_is_its_error_alone_and_builds_nothing_twice(
    fast: bool,
) -> None:
    """libyaml hands over the first document before it meets the error in the second; the
    pure reader then reads the file again for its message, and must not hand it over again."""
    seen: list[object] = []
    reader = Reader("evals.yaml", ENVIRON, fast=fast)
    used = reader.read_each("a: 1\n---\nb: [c\n", lambda d: seen.append(d.value))
    assert used == []
    assert seen == [{"a": 1}]
    assert [(p.line, p.message) for p in reader.problems] == [
        (4, "YAML syntax error at column 1: expected ',' or ']', but got '<stream end>'")
    ]
