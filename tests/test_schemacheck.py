"""The quick schema check says yes exactly where jsonschema finds no error.

reconciler.validation skips jsonschema for a document reconciler.schemacheck accepts, so an
accepted document with a schema error would be a manifest that validates when it should not.
Each shipped schema is checked here against jsonschema itself: on the examples, on hand-made
edge values, and on documents that hypothesis derives from the examples by breaking them.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.config import CONFIG_SCHEMA
from reconciler.model import Kind
from reconciler.schemacheck import compile_schema
from reconciler.validation import quick_check, validator
from reconciler.vendors.registry import kind_module
from reconciler.yamlread import Reader

ROOT = Path(__file__).resolve().parent.parent
UUID = "11111111-aaaa-4bbb-8ccc-000000000001"


def examples() -> list[tuple[str, dict[str, Any]]]:
    """(schema file, document) for every manifest and reconciler.yaml under examples/."""
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted((ROOT / "examples").rglob("*.yaml")):
        for document in Reader(path.name, {}).read(path.read_text(encoding="utf-8")):
            value = document.value
            if path.name == "reconciler.yaml":
                found.append((CONFIG_SCHEMA, value))
            elif isinstance(value, dict) and "kind" in value:
                found.append((kind_module(Kind(value["kind"])).SCHEMA_FILE, value))
    assert {name for name, _ in found} >= {CONFIG_SCHEMA, "bland-eval-run.schema.json"}
    return found


EXAMPLES = examples()


def agree(schema: str, value: object) -> None:
    expected = validator(schema).is_valid(value)
    assert expected == quick_check(schema)(value), (schema, json.dumps(value)[:300])


@pytest.mark.parametrize(("schema", "value"), EXAMPLES, ids=lambda v: str(v)[:30])
def test_the_examples_are_accepted_without_jsonschema(schema: str, value: object) -> None:
    """The fast path is taken: every shipped example passes the quick check."""
    assert quick_check(schema)(value)
    agree(schema, value)


def bland(**spec: object) -> dict[str, Any]:
    body = {"call_ids": ["c-1"], "attached_agents": [{"eval_agent_id": UUID}], **spec}
    return {
        "apiVersion": "reconciler/v1",
        "kind": "BlandEvalRun",
        "metadata": {"name": "n"},
        "spec": {k: v for k, v in body.items() if v is not None},
    }


EDGES = {
    "integer-as-float": bland(pass_threshold_pct=80.0),
    "bool-as-number": bland(pass_threshold_pct=True),
    "above-maximum": bland(pass_threshold_pct=100.5),
    "pattern-with-newline": bland(attached_agents=[{"eval_agent_id": UUID + "\n"}]),
    "pattern-wrong": bland(attached_agents=[{"eval_agent_id": "not-a-uuid"}]),
    "duplicate-ids": bland(call_ids=["c-1", "c-1"]),
    "ids-not-strings": bland(call_ids=[1, True]),
    "empty-ids": bland(call_ids=[]),
    "empty-id": bland(call_ids=[""]),
    "no-agents": bland(attached_agents=None),
    "no-agents-but-workbench": bland(attached_agents=None, workbench_setup_version_id=UUID),
    "workbench-pair": bland(workbench_setup_id=UUID, workbench_setup_version_id=UUID),
    "unknown-field": bland(colour="blue"),
    "enum-wrong": bland(run_mode="video"),
    "enum-right": bland(run_mode="audio"),
    "const-as-int": {**bland(), "apiVersion": 1},
    "spec-a-list": {**bland(), "spec": []},
    "metadata-null": {**bland(), "metadata": None},
    "not-an-object": ["apiVersion"],
}


@pytest.mark.parametrize("value", EDGES.values(), ids=EDGES.keys())
def test_edge_values_get_jsonschemas_answer(value: object) -> None:
    agree("bland-eval-run.schema.json", value)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found += paths(item, (*prefix, n))
    return found


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0, 1, 1.0, 100, 100.5, -1, "", "x", UUID, "reconciler.x", "text", "full"])
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


@st.composite
def broken(draw: st.DrawFn) -> tuple[str, Any]:
    """An example with one to three values replaced, removed or added."""
    schema, original = draw(st.sampled_from(EXAMPLES))
    value = copy.deepcopy(original)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(paths(value)))
        if not path:
            continue
        *parents, last = path
        holder = value
        for part in parents:
            holder = holder[part]
        action = draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        if action == "replace":
            holder[last] = draw(JSON_VALUES)
        elif action == "remove":
            del holder[last]
        elif isinstance(holder, dict):  # a new key, or one that is there already
            holder[draw(st.text(max_size=5) | st.sampled_from([*holder, "x"]))] = draw(JSON_VALUES)
        else:  # a new item, or a copy of one there already (uniqueItems)
            holder.append(draw(JSON_VALUES | st.sampled_from([*holder, "x"])))
    return schema, value


@settings(max_examples=600)
@given(broken())
def test_broken_examples_get_jsonschemas_answer(case: tuple[str, Any]) -> None:
    agree(*case)


@pytest.mark.parametrize(
    "schema",
    [
        {"patternProperties": {"^x": {}}},
        {"prefixItems": [{}]},
        {"$ref": "https://example.com/other.json"},
        {"properties": {"a": {"$id": "inner"}}},
        {"$schema": "http://json-schema.org/draft-07/schema#"},
        {"unevaluatedProperties": False},
        {"type": "decimal"},
    ],
)
def test_what_the_checker_does_not_know_is_left_to_jsonschema(schema: dict[str, Any]) -> None:
    assert compile_schema(schema) is None


def test_validate_of_valid_manifests_does_not_import_jsonschema() -> None:
    """jsonschema was a third of `validate`'s start-up; it is imported for errors only."""
    command = [sys.executable, "-X", "importtime", "-m", "reconciler.cli"]
    command += ["-C", str(ROOT / "examples"), "validate"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    imported = [line.split("|")[-1].strip() for line in done.stderr.splitlines()]
    assert (0, []) == (done.returncode, [m for m in imported if m.startswith("jsonschema")])
