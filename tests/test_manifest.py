"""Manifests and reconciler.yaml: every problem as one exact `path:line: field: message. fix`."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.manifest import Config, load_config, load_manifests, parse_manifest
from reconciler.model import Address, Kind, NaturalKey, Resource, Threshold, Vendor
from reconciler.secret import Secret
from reconciler.vendors import adaline as adaline_vendor
from reconciler.vendors import arize as arize_vendor

EXAMPLE = Path(__file__).parent.parent / "examples" / "evals" / "checkout.yaml"
AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
SETUP = "22222222-aaaa-4bbb-8ccc-000000000002"
SECRET = "sk-live-SECRET-4f1d9"
CALLS = "  call_ids: [c-1]"
AGENTS = ("  attached_agents:", f"    - eval_agent_id: {AGENT}")
YAML_FIX = "Fix the YAML syntax (indentation, quotes, a missing ':')"
KINDS = "BlandEvalRun, AdalineEvaluation, ArizeTaskRun"
PROMPT = "prompt-0000000000000001"
EVALUATOR = "evaluator-000000000001"
DATASET = "dataset-00000000000001"
FOREIGN = (
    "; if {} is not a manifest, list yours in `manifests:` in reconciler.yaml to narrow the "
    "set (by default every *.yaml and *.yml beside it is read)"
)


def bland(*spec: str, name: str = "nightly", tail: tuple[str, ...] = ()) -> str:
    """A BlandEvalRun document: spec lines start at line 6."""
    head = ["apiVersion: reconciler/v1", "kind: BlandEvalRun", "metadata:", f"  name: {name}"]
    return "\n".join([*head, "spec:", *spec, *tail]) + "\n"


def valid_bland(name: str = "nightly", tail: tuple[str, ...] = ()) -> str:
    """A valid BlandEvalRun document (spec lines 6-8; tail from line 9)."""
    return bland(CALLS, *AGENTS, name=name, tail=tail)


def arize(*spec: str, tail: tuple[str, ...] = ()) -> str:
    """An ArizeTaskRun document: spec lines start at line 5."""
    head = ["apiVersion: reconciler/v1", "kind: ArizeTaskRun", "metadata: {name: window}"]
    return "\n".join([*head, "spec:", "  task_id: task-1", *spec, *tail]) + "\n"


def window(start: str, end: str) -> str:
    """An ArizeTaskRun over [start, end]: data_start_time on line 6, data_end_time on line 7."""
    return arize(f"  data_start_time: '{start}'", f"  data_end_time: '{end}'")


def adaline(name: str = "faithfulness", prompt: str = PROMPT) -> str:
    """A valid AdalineEvaluation document."""
    return (
        "apiVersion: reconciler/v1\n"
        "kind: AdalineEvaluation\n"
        f"metadata: {{name: {name}}}\n"
        "spec:\n"
        f"  promptId: {prompt}\n"
        f"  evaluatorId: {EVALUATOR}\n"
        f"  datasetId: {DATASET}\n"
    )


def write(root: Path, files: Mapping[str, str], config: str = "workspace: team\n") -> Config:
    """Write reconciler.yaml and the files under `root`; return the loaded config."""
    (root / "reconciler.yaml").write_text(config, encoding="utf-8")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return load_config(root / "reconciler.yaml", environ={})


def errors(
    root: Path, files: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> list[str]:
    """Load the files as a manifest set and return the printed problem lines."""
    config = write(root, files)
    with pytest.raises(ManifestError) as caught:
        load_manifests(config, environ=environ or {})
    return caught.value.lines()


def problems_of(root: Path, text: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """Write `text` as a.yaml beside reconciler.yaml and return the printed problem lines."""
    return errors(root, {"a.yaml": text}, environ)


def loaded(
    root: Path, files: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> tuple[Resource, ...]:
    """Load the files as a manifest set and return the resources."""
    return load_manifests(write(root, files), environ=environ or {})


def config_errors(root: Path, text: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """Write reconciler.yaml and return its printed problem lines, with `root` as `<D>`."""
    (root / "reconciler.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_config(root / "reconciler.yaml", environ=environ or {})
    return [line.replace(str(root.resolve()), "<D>") for line in caught.value.lines()]


class TestYamlSyntax:
    def test_unclosed_flow_sequence_names_line_and_column(self, tmp_path: Path) -> None:
        """An unclosed `[` is reported at the line and column where the parser gave up."""
        expected = [
            "a.yaml:2: YAML syntax error at column 2: expected ',' or ']', but got ':'. " + YAML_FIX
        ]
        assert expected == problems_of(tmp_path, "a: [1\nb: 2\n")

    def test_bad_indentation_names_line_and_column(self, tmp_path: Path) -> None:
        """A key indented under a scalar is reported at its own line and column."""
        text = "apiVersion: reconciler/v1\nkind: BlandEvalRun\n  bad: indent\n"
        expected = [
            "a.yaml:3: YAML syntax error at column 6: mapping values are not allowed here. "
            + YAML_FIX
        ]
        assert expected == problems_of(tmp_path, text)

    def test_syntax_error_carries_column(self) -> None:
        """The Problem object itself records the column, not only the message."""
        _, problems = parse_manifest("a: [1\nb: 2\n", "x.yaml", environ={})
        assert [(2, 2)] == [(p.line, p.column) for p in problems]

    def test_duplicate_key_is_reported_at_second_occurrence(self, tmp_path: Path) -> None:
        """A key given twice in one mapping is an error on the line of the second one."""
        text = bland(CALLS, "  call_ids: [c-2]", *AGENTS)
        expected = ["a.yaml:7: spec.call_ids: `call_ids` is given twice. Keep one of them"]
        assert expected == problems_of(tmp_path, text)

    def test_duplicate_top_level_key(self, tmp_path: Path) -> None:
        """A duplicated top-level key is reported with its own field name."""
        text = valid_bland().replace("kind: BlandEvalRun\n", "kind: BlandEvalRun\nkind: X\n")
        unknown = f"a.yaml:3: kind: unknown kind X. Use one of {KINDS}"
        expected = ["a.yaml:3: kind: `kind` is given twice. Keep one of them", unknown]
        assert expected == problems_of(tmp_path, text)

    def test_scalar_document_must_be_a_mapping(self, tmp_path: Path) -> None:
        """A document that is a plain string is rejected at its line."""
        expected = [
            "a.yaml:1: a manifest document must be a mapping. "
            "Start it with `apiVersion: reconciler/v1` and `kind:`" + FOREIGN.format("a.yaml")
        ]
        assert expected == problems_of(tmp_path, "hello\n")


class TestKindAndApiVersion:
    def test_unknown_kind_suggests_the_closest(self, tmp_path: Path) -> None:
        """A misspelt kind gets a did-you-mean with the real kind."""
        text = valid_bland().replace("kind: BlandEvalRun", "kind: BlandEvalRn")
        expected = ["a.yaml:2: kind: unknown kind BlandEvalRn. Did you mean BlandEvalRun?"]
        assert expected == problems_of(tmp_path, text)

    def test_lower_case_kind_suggests_the_real_spelling(self, tmp_path: Path) -> None:
        """A kind in the wrong case is matched to the real one."""
        text = "apiVersion: reconciler/v1\nkind: adalineevaluation\n"
        expected = [
            "a.yaml:2: kind: unknown kind adalineevaluation. Did you mean AdalineEvaluation?"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_unrelated_kind_lists_every_kind(self, tmp_path: Path) -> None:
        """A kind close to none of ours lists the known kinds."""
        text = "apiVersion: reconciler/v1\nkind: Deployment\n"
        expected = [f"a.yaml:2: kind: unknown kind Deployment. Use one of {KINDS}"]
        assert expected == problems_of(tmp_path, text)

    def test_missing_kind_says_missing(self, tmp_path: Path) -> None:
        """A document without `kind:` says the kind is missing rather than `null`."""
        text = "apiVersion: reconciler/v1\nmetadata: {name: n}\n"
        expected = [f"a.yaml:1: kind: kind missing. Use one of {KINDS}"]
        assert expected == problems_of(tmp_path, text)

    def test_unknown_api_version(self, tmp_path: Path) -> None:
        """Another apiVersion is named and the right one is given as the fix."""
        text = valid_bland().replace("reconciler/v1", "reconciler/v2")
        expected = [
            "a.yaml:1: apiVersion: apiVersion `reconciler/v2` is not known. "
            "Write `apiVersion: reconciler/v1`"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_missing_api_version(self, tmp_path: Path) -> None:
        """A document without `apiVersion:` says so at the document's first line."""
        text = valid_bland().replace("apiVersion: reconciler/v1\n", "")
        expected = ["a.yaml:1: apiVersion: apiVersion missing. Write `apiVersion: reconciler/v1`"]
        assert expected == problems_of(tmp_path, text)


class TestUnknownFields:
    def test_unknown_spec_field_suggests_the_closest(self, tmp_path: Path) -> None:
        """A misspelt spec field is named at its line with a did-you-mean."""
        text = bland(CALLS, *AGENTS, "  run_mod: text")
        expected = ["a.yaml:9: spec.run_mod: unknown field `run_mod`. Did you mean `run_mode`?"]
        assert expected == problems_of(tmp_path, text)

    def test_unknown_top_level_field_suggests_the_closest(self, tmp_path: Path) -> None:
        """A misspelt `lifecycle` is named at its line with a did-you-mean."""
        text = valid_bland(tail=("lifecyle: {protect: true}",))
        expected = ["a.yaml:9: lifecyle: unknown field `lifecyle`. Did you mean `lifecycle`?"]
        assert expected == problems_of(tmp_path, text)

    def test_unknown_field_without_a_close_match_lists_the_known(self, tmp_path: Path) -> None:
        """A field close to nothing lists the fields the object accepts."""
        text = valid_bland(tail=("lifecycle: {zzz: 1}",))
        expected = [
            "a.yaml:9: lifecycle.zzz: unknown field `zzz`. "
            "Known fields: adopt, after, max_attempts, moved_from, protect, rerun_after, triggers"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_unknown_field_of_arize_experiment_run(self, tmp_path: Path) -> None:
        """A typo in an experiment run is matched against the experiment branch's fields."""
        text = arize("  experiment_name: nightly", "  max_exampels: 3")
        expected = [
            "a.yaml:7: spec.max_exampels: unknown field `max_exampels`. "
            "Did you mean `max_examples`?"
        ]
        assert expected == problems_of(tmp_path, text)


class TestRequiredAndTypes:
    def test_missing_call_ids(self, tmp_path: Path) -> None:
        """A spec without call_ids names the field at the spec's line."""
        expected = ["a.yaml:5: spec.call_ids: missing required field `call_ids`. Add `call_ids`"]
        assert expected == problems_of(tmp_path, bland(*AGENTS))

    def test_missing_spec(self, tmp_path: Path) -> None:
        """A document without spec names `spec` at the document's first line."""
        text = "apiVersion: reconciler/v1\nkind: BlandEvalRun\nmetadata: {name: n}\n"
        expected = ["a.yaml:1: spec: missing required field `spec`. Add `spec`"]
        assert expected == problems_of(tmp_path, text)

    def test_missing_name(self, tmp_path: Path) -> None:
        """metadata without a name is reported at metadata's line."""
        text = valid_bland().replace("  name: nightly\n", "  {}\n").replace("metadata:\n", "")
        text = text.replace("  {}\n", "metadata: {}\n")
        expected = ["a.yaml:3: metadata.name: missing required field `name`. Add `name`"]
        assert expected == problems_of(tmp_path, text)

    def test_scalar_where_array_is_wanted(self, tmp_path: Path) -> None:
        """A single call id instead of a list is a type error naming the array."""
        text = bland("  call_ids: c-1", *AGENTS)
        expected = ["a.yaml:6: spec.call_ids: must be an array, got c-1. Write an array"]
        assert expected == problems_of(tmp_path, text)

    def test_string_where_number_is_wanted(self, tmp_path: Path) -> None:
        """A word in a numeric field is a type error naming `a number`."""
        text = bland(CALLS, *AGENTS, "  pass_threshold_pct: high")
        expected = ["a.yaml:9: spec.pass_threshold_pct: must be a number, got high. Write a number"]
        assert expected == problems_of(tmp_path, text)

    def test_bad_enum_value_lists_choices(self, tmp_path: Path) -> None:
        """An unknown run_mode lists the three modes."""
        text = bland(CALLS, *AGENTS, "  run_mode: video")
        expected = [
            "a.yaml:9: spec.run_mode: must be one of text, audio, full, got video. "
            "Pick one of the listed values"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_bad_resource_name(self, tmp_path: Path) -> None:
        """An upper-case name is rejected with the naming rule from the schema."""
        expected = [
            "a.yaml:4: metadata.name: has the wrong form, got Bad_Name. Expected: the resource "
            "name, unique per kind; lower-case letters, digits and hyphens, at most 63 characters."
        ]
        assert expected == problems_of(tmp_path, valid_bland(name="Bad_Name"))

    def test_bad_agent_uuid(self, tmp_path: Path) -> None:
        """An eval_agent_id that is not a UUID is named by its list index."""
        text = bland(CALLS, "  attached_agents:", "    - eval_agent_id: agent-1")
        expected = [
            "a.yaml:8: spec.attached_agents[0].eval_agent_id: has the wrong form, got agent-1. "
            "Expected: the UUID of the eval agent."
        ]
        assert expected == problems_of(tmp_path, text)

    def test_duplicate_call_ids(self, tmp_path: Path) -> None:
        """The same call id twice is rejected."""
        text = bland("  call_ids: [c-1, c-1]", *AGENTS)
        expected = ["a.yaml:6: spec.call_ids: has duplicate items. Remove the duplicates"]
        assert expected == problems_of(tmp_path, text)

    def test_short_adaline_id(self, tmp_path: Path) -> None:
        """An Adaline promptId under 20 characters gives the length range."""
        expected = [
            "a.yaml:5: spec.promptId: must be 20 to 80 characters long. Use 20 to 80 characters"
        ]
        assert expected == problems_of(tmp_path, adaline(prompt="short"))

    def test_trigger_value_must_be_scalar(self, tmp_path: Path) -> None:
        """A list as a trigger value is a type error at the trigger's line."""
        text = valid_bland(tail=("lifecycle:", "  triggers: {dataset: [1]}"))
        expected = [
            "a.yaml:10: lifecycle.triggers.dataset: must be a string or number or boolean, "
            "got [1]. Write a string or number or boolean"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_rerun_after_without_time(self, tmp_path: Path) -> None:
        """A bare date as rerun_after is rejected as lacking a time zone."""
        text = valid_bland(tail=("lifecycle:", "  rerun_after: 2026-11-01"))
        expected = [
            "a.yaml:10: lifecycle.rerun_after: must be an RFC 3339 time with a time zone, "
            'got 2026-11-01. Write it like "2026-11-01T00:00:00Z"'
        ]
        assert expected == problems_of(tmp_path, text)


class TestRanges:
    def test_pass_threshold_above_100(self, tmp_path: Path) -> None:
        """pass_threshold_pct 150 is out of 0..100."""
        text = bland(CALLS, *AGENTS, "  pass_threshold_pct: 150")
        expected = [
            "a.yaml:9: spec.pass_threshold_pct: must be between 0 and 100, got 150. "
            "Use a value between 0 and 100"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_negative_weight(self, tmp_path: Path) -> None:
        """An agent weight of -1 is named by the agent's index and the weight's line."""
        text = bland(CALLS, *AGENTS, "      weight: -1")
        expected = [
            "a.yaml:9: spec.attached_agents[0].weight: must be between 0 and 100, got -1. "
            "Use a value between 0 and 100"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_more_than_50_agents(self, tmp_path: Path) -> None:
        """51 agents exceed Bland's limit of 50."""
        agents = [f"    - eval_agent_id: 11111111-aaaa-4bbb-8ccc-{n:012d}" for n in range(51)]
        text = bland(CALLS, "  attached_agents:", *agents)
        expected = [
            "a.yaml:7: spec.attached_agents: has 51 items, at most 50 allowed. "
            "Split it into resources of at most 50"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_exactly_50_agents_is_valid(self, tmp_path: Path) -> None:
        """50 agents is the limit itself and loads."""
        agents = [f"    - eval_agent_id: 11111111-aaaa-4bbb-8ccc-{n:012d}" for n in range(50)]
        (resource,) = loaded(tmp_path, {"a.yaml": bland(CALLS, "  attached_agents:", *agents)})
        agents_ = resource.spec["attached_agents"]
        assert 50 == (len(agents_) if isinstance(agents_, list) else None)

    def test_zero_call_ids(self, tmp_path: Path) -> None:
        """An empty call_ids list needs at least one id."""
        text = bland("  call_ids: []", *AGENTS)
        expected = ["a.yaml:6: spec.call_ids: needs at least 1 item(s). Add the missing items"]
        assert expected == problems_of(tmp_path, text)

    def test_5001_call_ids(self, tmp_path: Path) -> None:
        """5001 call ids exceed Bland's limit of 5000."""
        text = bland("  call_ids: [" + ", ".join(f"c-{n}" for n in range(5001)) + "]", *AGENTS)
        expected = [
            "a.yaml:6: spec.call_ids: has 5001 items, at most 5000 allowed. "
            "Split it into resources of at most 5000"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_max_attempts_zero(self, tmp_path: Path) -> None:
        """lifecycle.max_attempts 0 is below the minimum of 1."""
        text = valid_bland(tail=("lifecycle:", "  max_attempts: 0"))
        expected = [
            "a.yaml:10: lifecycle.max_attempts: must be between 1 and 100, got 0. "
            "Use a value between 1 and 100"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_confidence_of_one(self, tmp_path: Path) -> None:
        """confidence 1 is outside the open interval (0, 1)."""
        text = valid_bland(
            tail=("thresholds:", "  - {metric: pass_rate_pct, min: 80, confidence: 1}")
        )
        expected = [
            "a.yaml:10: thresholds[0].confidence: must be between 0 and 1, got 1. "
            "Use a value between 0 and 1"
        ]
        assert expected == problems_of(tmp_path, text)


class TestBlandRules:
    def test_setup_id_without_version(self, tmp_path: Path) -> None:
        """workbench_setup_id alone asks for its version partner."""
        text = bland(CALLS, f"  workbench_setup_id: {SETUP}", *AGENTS)
        expected = [
            "a.yaml:7: spec.workbench_setup_id: `workbench_setup_id` needs "
            "`workbench_setup_version_id` too. Add `workbench_setup_version_id` or remove "
            "`workbench_setup_id`"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_setup_version_without_setup_id(self, tmp_path: Path) -> None:
        """workbench_setup_version_id alone asks for its setup partner."""
        text = bland(CALLS, f"  workbench_setup_version_id: {SETUP}")
        expected = [
            "a.yaml:7: spec.workbench_setup_version_id: `workbench_setup_version_id` needs "
            "`workbench_setup_id` too. Add `workbench_setup_id` or remove "
            "`workbench_setup_version_id`"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_setup_pair_without_agents_is_valid(self, tmp_path: Path) -> None:
        """A pinned setup version replaces attached_agents."""
        text = bland(
            CALLS, f"  workbench_setup_id: {SETUP}", f"  workbench_setup_version_id: {SETUP}"
        )
        (resource,) = loaded(tmp_path, {"a.yaml": text})
        assert SETUP == resource.spec["workbench_setup_version_id"]

    def test_neither_agents_nor_setup_version(self, tmp_path: Path) -> None:
        """A spec with neither agents nor a setup version names both ways out."""
        text = bland(CALLS, "  run_mode: text")
        expected = [
            "a.yaml:5: spec: needs `attached_agents` or `workbench_setup_version_id`. "
            "Add one of them"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_empty_agent_list(self, tmp_path: Path) -> None:
        """An empty attached_agents list is reported on that list, not as a missing setup."""
        text = bland(CALLS, "  attached_agents: []")
        expected = [
            "a.yaml:7: spec.attached_agents: needs at least 1 item(s). Add the missing items"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_reserved_metadata_key(self, tmp_path: Path) -> None:
        """A `reconciler.` metadata key is refused at its own line."""
        text = bland(CALLS, *AGENTS, "  metadata:", "    team: a", "    reconciler.workspace: x")
        expected = [
            "a.yaml:11: spec.metadata.reconciler.workspace: key `reconciler.workspace` is "
            "reserved: `reconciler.` keys are the ownership labels. Rename the key"
        ]
        assert expected == problems_of(tmp_path, text)


class TestEnvironment:
    def test_unset_variable_names_file_line_and_name(self, tmp_path: Path) -> None:
        """An unset ${VAR} is one problem naming the file, line and variable."""
        text = bland('  call_ids: ["${CALL_ID}"]', *AGENTS)
        expected = [
            "a.yaml:6: spec.call_ids[0]: environment variable CALL_ID is not set. "
            "Export CALL_ID before running reconciler"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_invalid_reference(self, tmp_path: Path) -> None:
        """`${1X}` is not a variable name and says how to write one."""
        text = bland('  call_ids: ["${1X}"]', *AGENTS)
        expected = [
            "a.yaml:6: spec.call_ids[0]: `${1X}` is not a valid variable reference. "
            "Use ${NAME} with letters, digits and underscores (write $${ for a literal ${)"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_escaped_reference_is_literal(self, tmp_path: Path) -> None:
        """`$${NAME}` becomes the literal text `${NAME}` and is not marked sensitive."""
        text = bland('  call_ids: ["$${CALL}"]', *AGENTS)
        (resource,) = loaded(tmp_path, {"a.yaml": text})
        assert (["${CALL}"], frozenset()) == (resource.spec["call_ids"], resource.sensitive_paths)

    def test_value_is_substituted_and_recorded_as_sensitive(self, tmp_path: Path) -> None:
        """A ${VAR} value lands in the spec and its path in sensitive_paths."""
        text = bland(CALLS, '    - "prefix-${CALL}"', *AGENTS).replace(
            "  call_ids: [c-1]\n", "  call_ids:\n    - c-1\n"
        )
        (resource,) = loaded(tmp_path, {"a.yaml": text}, {"CALL": "x9"})
        expected = (["c-1", "prefix-x9"], frozenset({"call_ids[1]"}))
        assert expected == (resource.spec["call_ids"], resource.sensitive_paths)

    @pytest.mark.parametrize(
        ("line", "field"),
        [
            ("  pass_threshold_pct: ${SECRET}", "spec.pass_threshold_pct"),
            ("  run_mode: ${SECRET}", "spec.run_mode"),
            ("  workbench_setup_id: ${SECRET}", "spec.workbench_setup_id"),
            ("  metadata: {team: ['${SECRET}']}", "spec.metadata.team"),
        ],
    )
    def test_secret_in_invalid_field_is_never_echoed(
        self, tmp_path: Path, line: str, field: str
    ) -> None:
        """An invalid value from ${SECRET} is reported by field but never shown."""
        lines = problems_of(tmp_path, bland(CALLS, *AGENTS, line), {"SECRET": SECRET})
        assert ([field], []) == (
            sorted({x.split(": ")[1] for x in lines}),
            [x for x in lines if SECRET in x],
        )

    @pytest.mark.parametrize(
        "text",
        [
            "apiVersion: reconciler/v1\nkind: ${SECRET}\n",
            "apiVersion: ${SECRET}\nkind: BlandEvalRun\n",
            valid_bland(name="${SECRET}"),
            valid_bland(tail=("lifecycle:", "  rerun_after: ${SECRET}")),
            valid_bland(tail=("lifecycle:", "  triggers: {dataset: ['${SECRET}']}")),
            valid_bland(
                tail=("thresholds:", "  - {metric: pass_rate_pct, path: '${SECRET}', min: 1}")
            ),
            arize("  data_start_time: '${SECRET}'", "  data_end_time: '2026-11-01T00:00:00Z'"),
        ],
    )
    def test_secret_never_echoed_anywhere(self, tmp_path: Path, text: str) -> None:
        """No problem line contains a value that came from the environment."""
        lines = problems_of(tmp_path, text, {"SECRET": SECRET})
        assert (True, []) == (bool(lines), [x for x in lines if SECRET in x])

    def test_secret_in_numeric_field_exact_line(self, tmp_path: Path) -> None:
        """The message for a secret in a numeric field keeps the type but drops the value."""
        text = bland(CALLS, *AGENTS, "  pass_threshold_pct: ${SECRET}")
        expected = ["a.yaml:9: spec.pass_threshold_pct: must be a number. Write a number"]
        assert expected == problems_of(tmp_path, text, {"SECRET": SECRET})

    def test_secret_kind_is_not_echoed(self, tmp_path: Path) -> None:
        """An unknown kind from ${VAR} is reported without its value."""
        text = "apiVersion: reconciler/v1\nkind: ${SECRET}\n"
        expected = [f"a.yaml:2: kind: unknown kind (from the environment). Use one of {KINDS}"]
        assert expected == problems_of(tmp_path, text, {"SECRET": SECRET})


class TestThresholds:
    def test_metric_arize_can_never_report(self, tmp_path: Path) -> None:
        """score_mean on an ArizeTaskRun is refused with the metrics Arize has."""
        text = window("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z")
        text += "thresholds:\n  - {metric: score_mean, min: 0.5}\n"
        expected = [
            "a.yaml:9: thresholds[0].metric: ArizeTaskRun can never report metric score_mean. "
            "Use one of error_rate_pct, failed_count, sample_size, "
            "or a vendor field through `path:`"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_metric_adaline_can_never_report(self, tmp_path: Path) -> None:
        """score_mean on an AdalineEvaluation is refused too."""
        text = adaline() + "thresholds:\n  - {metric: score_mean, min: 0.5}\n"
        expected = [
            "a.yaml:9: thresholds[0].metric: AdalineEvaluation can never report metric "
            "score_mean. Use one of pass_rate_pct, error_rate_pct, failed_count, cost_usd, "
            "sample_size, or a vendor field through `path:`"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_gate_without_bound(self, tmp_path: Path) -> None:
        """A threshold without min, max or equals names all three."""
        text = valid_bland(tail=("thresholds:", "  - {metric: score_mean}"))
        expected = [
            "a.yaml:10: thresholds[0]: needs `min`, `max`, `equals`, `max_drop`, `max_rise`, "
            "`max_drop_pct` or `max_rise_pct`. Add one of them"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_gate_with_metric_and_path(self, tmp_path: Path) -> None:
        """A threshold with both metric and path asks to keep one."""
        text = valid_bland(tail=("thresholds:", "  - {metric: score_mean, path: a.b, min: 1}"))
        expected = [
            "a.yaml:10: thresholds[0]: `metric` and `path` cannot be given together. "
            "Keep one of them"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_gate_with_neither_metric_nor_path(self, tmp_path: Path) -> None:
        """A threshold with neither metric nor path names both."""
        text = valid_bland(tail=("thresholds:", "  - {min: 1}"))
        expected = ["a.yaml:10: thresholds[0]: needs `metric` or `path`. Add one of them"]
        assert expected == problems_of(tmp_path, text)

    def test_confidence_on_a_path(self, tmp_path: Path) -> None:
        """confidence with a vendor path is refused: it applies to rates only."""
        text = valid_bland(tail=("thresholds:", "  - {path: a.b, min: 1, confidence: 0.9}"))
        expected = [
            "a.yaml:10: thresholds[0].confidence: confidence applies to rate metrics, not to a "
            "`path`. Use it with `metric: pass_rate_pct` or `error_rate_pct`"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_thresholds_are_parsed(self, tmp_path: Path) -> None:
        """Valid thresholds become Threshold values in order."""
        tail = (
            "thresholds:",
            "  - {metric: pass_rate_pct, min: 70, confidence: 0.95}",
            "  - {path: a.b, equals: true}",
        )
        (resource,) = loaded(tmp_path, {"a.yaml": valid_bland(tail=tail)})
        expected = (
            Threshold(metric="pass_rate_pct", min=70, confidence=0.95),
            Threshold(path="a.b", equals=True),
        )
        assert expected == resource.thresholds


class TestArizeWindows:
    def test_end_before_start(self, tmp_path: Path) -> None:
        """A window that ends before it starts is reported on data_end_time."""
        expected = [
            "a.yaml:7: spec.data_end_time: the window ends before it starts. "
            "Make data_end_time later than data_start_time"
        ]
        assert expected == problems_of(
            tmp_path, window("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z")
        )

    def test_longer_than_30_days(self, tmp_path: Path) -> None:
        """A window one second over 30 days is refused."""
        expected = [
            "a.yaml:7: spec.data_end_time: the window is longer than Arize's 30 days. "
            "Split it into windows of at most 30 days"
        ]
        assert expected == problems_of(
            tmp_path, window("2026-10-01T00:00:00Z", "2026-10-31T00:00:01Z")
        )

    def test_exactly_30_days_is_valid(self, tmp_path: Path) -> None:
        """A window of exactly 30 days loads."""
        (resource,) = loaded(
            tmp_path, {"a.yaml": window("2026-10-01T00:00:00Z", "2026-10-31T00:00:00Z")}
        )
        assert Address(Kind.ARIZE_TASK_RUN, "window") == resource.address

    @pytest.mark.parametrize(
        "start",
        ["'2026-10-01T00:00:00'", "2026-10-01T00:00:00", "'2026-10-01'"],
    )
    def test_missing_time_zone(self, tmp_path: Path, start: str) -> None:
        """A start time without a zone is reported on data_start_time, quoted or not."""
        text = arize(f"  data_start_time: {start}", "  data_end_time: '2026-10-02T00:00:00Z'")
        lines = problems_of(tmp_path, text)
        assert ["a.yaml:6: spec.data_start_time: has the wrong form"] == [
            x.split(", got")[0] for x in lines
        ]
        assert (
            "Expected: the start of the evaluated data window, an RFC 3339 time with a zone"
            in lines[0]
        )

    def test_missing_end(self, tmp_path: Path) -> None:
        """A window with a start but no end asks for data_end_time."""
        text = arize("  data_start_time: '2026-10-01T00:00:00Z'")
        expected = [
            "a.yaml:4: spec.data_end_time: missing required field `data_end_time`. "
            "Add `data_end_time`"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_example_ids_with_max_examples(self, tmp_path: Path) -> None:
        """example_ids and max_examples together are refused on the later field."""
        text = arize("  experiment_name: e", "  example_ids: [x]", "  max_examples: 3")
        expected = [
            "a.yaml:4: spec: `example_ids` and `max_examples` cannot be given together. "
            "Keep one of them"
        ]
        assert expected == problems_of(tmp_path, text)


class TestManifestSet:
    def test_no_file_matches(self, tmp_path: Path) -> None:
        """Globs that match nothing are reported on reconciler.yaml's manifests field."""
        config = write(tmp_path, {}, "workspace: team\nmanifests: ['evals/*.yaml']\n")
        with pytest.raises(ManifestError) as caught:
            load_manifests(config, environ={})
        expected = [
            "reconciler.yaml: manifests: no manifest file matches evals/*.yaml. "
            "Add a manifest, or fix the globs in `manifests:`"
        ]
        assert expected == caught.value.lines()

    def test_default_globs_skip_reconciler_yaml(self, tmp_path: Path) -> None:
        """With only reconciler.yaml present, the default globs match nothing."""
        expected = [
            "reconciler.yaml: manifests: no manifest file matches *.yaml, *.yml. "
            "Add a manifest, or fix the globs in `manifests:`"
        ]
        assert expected == errors(tmp_path, {})

    @pytest.mark.parametrize("text", ["", "# only a comment\n", "# nothing\n---\n", "---\n---\n"])
    def test_files_with_no_documents(self, tmp_path: Path, text: str) -> None:
        """Files that declare nothing are one problem on the manifest set."""
        expected = [
            "reconciler.yaml: manifests: the manifest files declare no resource. "
            "Add a document with `apiVersion: reconciler/v1` and a `kind:`"
        ]
        assert expected == errors(tmp_path, {"a.yaml": text, "b.yml": "# todo\n"})

    def test_same_address_in_two_files(self, tmp_path: Path) -> None:
        """A name declared in two files is reported at the second, naming the first."""
        files = {"a.yaml": valid_bland(), "b.yaml": "# second\n" + valid_bland()}
        expected = [
            "b.yaml:2: metadata.name: BlandEvalRun/nightly is already declared at a.yaml:1. "
            "Give one of them another name"
        ]
        assert expected == errors(tmp_path, files)

    def test_same_name_of_two_kinds_is_fine(self, tmp_path: Path) -> None:
        """Addresses include the kind, so one name may serve two kinds."""
        files = {"a.yaml": valid_bland(name="faithfulness"), "b.yaml": adaline()}
        addresses = [str(r.address) for r in loaded(tmp_path, files)]
        assert ["AdalineEvaluation/faithfulness", "BlandEvalRun/faithfulness"] == addresses

    def test_problems_of_all_files_reported_sorted(self, tmp_path: Path) -> None:
        """Problems of several files come out together, sorted by file then line."""
        files = {
            "c.yaml": bland(CALLS, *AGENTS, "  run_mod: text"),
            "a.yaml": valid_bland(tail=("lifecycle:", "  max_attempts: 0")) + "---\nkind: Nope\n",
            "b.yaml": "x: [\n",
            "d.yaml": valid_bland(name="ok"),
        }
        lines = errors(tmp_path, files)
        assert [
            "a.yaml:10: lifecycle.max_attempts",
            "a.yaml:12: apiVersion",
            "b.yaml:2: YAML syntax error at column 1",
            "c.yaml:9: spec.run_mod",
        ] == [x.split(":")[0] + ":" + x.split(":")[1] + ":" + x.split(":")[2] for x in lines]

    def test_file_that_is_not_utf8_is_named_with_its_line(self, tmp_path: Path) -> None:
        """A manifest that is not UTF-8 is reported by name and line instead of crashing."""
        config = write(tmp_path, {})
        (tmp_path / "a.yaml").write_bytes(b"kind: X\nname: \xff\xfe\x00bad")
        with pytest.raises(ManifestError) as caught:
            load_manifests(config, environ={})
        expected = ["a.yaml:2: is not UTF-8 text (byte 0xff). Save it as UTF-8"]
        assert expected == caught.value.lines()

    def test_nested_globs(self, tmp_path: Path) -> None:
        """`**` globs find manifests in subdirectories, displayed relative to the root."""
        (tmp_path / "evals" / "team").mkdir(parents=True)
        (tmp_path / "evals" / "team" / "a.yaml").write_text("kind: X\n", encoding="utf-8")
        config = write(tmp_path, {}, "workspace: team\nmanifests: ['evals/**/*.yaml']\n")
        with pytest.raises(ManifestError) as caught:
            load_manifests(config, environ={})
        assert ["evals/team/a.yaml"] == [p.path for p in caught.value.problems]


class TestConfig:
    def test_missing_file(self, tmp_path: Path) -> None:
        """No reconciler.yaml is one problem saying where it was looked for."""
        with pytest.raises(ManifestError) as caught:
            load_config(tmp_path / "reconciler.yaml", environ={})
        expected = [
            f"{tmp_path.resolve()}/reconciler.yaml: no reconciler.yaml here. Run reconciler in "
            "the directory that holds it, or pass -C DIR / --config"
        ]
        assert expected == caught.value.lines()

    def test_bad_workspace_name(self, tmp_path: Path) -> None:
        """An upper-case workspace is rejected with the naming rule."""
        expected = [
            "<D>/reconciler.yaml:1: workspace: has the wrong form, got Bad_WS. Expected: the name "
            "that marks every run this directory owns; lower-case letters, digits and hyphens, "
            "at most 40 characters."
        ]
        assert expected == config_errors(tmp_path, "workspace: Bad_WS\n")

    def test_missing_workspace(self, tmp_path: Path) -> None:
        """A config without a workspace asks for one."""
        expected = [
            "<D>/reconciler.yaml:1: workspace: missing required field `workspace`. Add `workspace`"
        ]
        assert expected == config_errors(tmp_path, "providers: {}\n")

    def test_unknown_provider(self, tmp_path: Path) -> None:
        """A misspelt provider gets a did-you-mean."""
        expected = [
            "<D>/reconciler.yaml:3: providers.blend: unknown field `blend`. Did you mean `bland`?"
        ]
        assert expected == config_errors(tmp_path, "workspace: w\nproviders:\n  blend: {}\n")

    def test_bad_base_url(self, tmp_path: Path) -> None:
        """An ftp URL is not a base_url."""
        text = "workspace: w\nproviders:\n  bland: {base_url: 'ftp://x'}\n"
        expected = [
            "<D>/reconciler.yaml:3: providers.bland.base_url: has the wrong form, got ftp://x. "
            "Expected: where to send Bland requests: `emulator` for the embedded emulator, or an "
            "http(s) URL; defaults to the vendor's public API."
        ]
        assert expected == config_errors(tmp_path, text)

    def test_concurrency_out_of_range(self, tmp_path: Path) -> None:
        """max_concurrency 0 is below 1."""
        text = "workspace: w\nproviders:\n  adaline:\n    max_concurrency: 0\n"
        expected = [
            "<D>/reconciler.yaml:4: providers.adaline.max_concurrency: must be between 1 and 64, "
            "got 0. Use a value between 1 and 64"
        ]
        assert expected == config_errors(tmp_path, text)

    def test_unset_api_key_variable(self, tmp_path: Path) -> None:
        """An api_key from an unset variable names the variable and the line."""
        text = "workspace: w\nproviders:\n  bland:\n    api_key: ${BLAND_API_KEY}\n"
        expected = [
            "<D>/reconciler.yaml:4: providers.bland.api_key: environment variable BLAND_API_KEY "
            "is not set. Export BLAND_API_KEY before running reconciler"
        ]
        assert expected == config_errors(tmp_path, text)

    def test_unset_variable_does_not_hide_other_config_problems(self, tmp_path: Path) -> None:
        """An unset ${VAR} in reconciler.yaml is reported with the file's other problems."""
        text = "workspace: Bad_WS\nproviders:\n  blend: {api_key: '${BLAND_API_KEY}'}\n"
        expected = [
            "<D>/reconciler.yaml:1: workspace",
            "<D>/reconciler.yaml:3: providers.blend",
            "<D>/reconciler.yaml:3: providers.blend.api_key",
        ]
        assert expected == [":".join(x.split(":")[:3]) for x in config_errors(tmp_path, text)]

    def test_empty_file(self, tmp_path: Path) -> None:
        """An empty reconciler.yaml asks for a workspace rather than talking of documents."""
        expected = ["<D>/reconciler.yaml: is empty. Start with `workspace: my-team`"]
        assert expected == config_errors(tmp_path, "# nothing yet\n")

    def test_two_documents(self, tmp_path: Path) -> None:
        """A second document in reconciler.yaml is refused at its line."""
        expected = [
            "<D>/reconciler.yaml:3: must hold exactly one YAML document. "
            "Remove the other documents (manifests go in their own files)"
        ]
        assert expected == config_errors(tmp_path, "workspace: w\n---\nworkspace: x\n")

    def test_not_a_mapping(self, tmp_path: Path) -> None:
        """A list as reconciler.yaml is refused."""
        expected = [
            "<D>/reconciler.yaml:1: must be a mapping with at least `workspace:`. "
            "Start with `workspace: my-team`"
        ]
        assert expected == config_errors(tmp_path, "- a\n")

    def test_defaults(self, tmp_path: Path) -> None:
        """A config with only a workspace gets default globs, no providers, default safety."""
        config = write(tmp_path, {}, "workspace: team\n")
        expected = ("team", ("*.yaml", "*.yml"), (), 10, None, tmp_path.resolve())
        actual = (
            config.workspace,
            config.manifests,
            config.providers,
            config.safety.max_cancellations,
            config.safety.max_cost_usd,
            config.root,
        )
        assert expected == actual

    def test_full_config_values(self, tmp_path: Path) -> None:
        """Every provider setting and safety limit is read as written."""
        text = (
            "workspace: support-evals\n"
            "manifests: ['evals/**/*.yaml']\n"
            "providers:\n"
            "  bland: {api_key: '${BLAND_API_KEY}', base_url: emulator}\n"
            "  adaline: {max_concurrency: 4, requests_per_second: 2.5, timeout_s: 10,\n"
            "            max_retries: 0}\n"
            "  arize: {owner_user_id: VXNlcjo0Mg==, task_ids: [t1, t2], space_id: sp1}\n"
            "safety: {max_cancellations: 3, max_cost_usd: 12.5}\n"
        )
        (tmp_path / "reconciler.yaml").write_text(text, encoding="utf-8")
        config = load_config(tmp_path / "reconciler.yaml", environ={"BLAND_API_KEY": SECRET})
        bland_, adaline_, arize_ = (
            config.provider(v) for v in (Vendor.BLAND, Vendor.ADALINE, Vendor.ARIZE)
        )
        assert bland_ is not None
        assert adaline_ is not None
        assert arize_ is not None
        expected = (
            ("evals/**/*.yaml",),
            (SECRET, "emulator", 8, None, 30.0, 5),  # Bland: no default cap (adaptive pace)
            (None, None, 4, 2.5, 10.0, 0),
            ("VXNlcjo0Mg==", ("t1", "t2"), "sp1"),
            (3, 12.5),
        )
        actual = (
            config.manifests,
            (
                bland_.api_key.reveal() if bland_.api_key else None,
                bland_.base_url,
                bland_.max_concurrency,
                bland_.requests_per_second,
                bland_.timeout_s,
                bland_.max_retries,
            ),
            (
                adaline_.api_key,
                adaline_.base_url,
                adaline_.max_concurrency,
                adaline_.requests_per_second,
                adaline_.timeout_s,
                adaline_.max_retries,
            ),
            (arize_.owner_user_id, arize_.task_ids, arize_.space_id),
            (config.safety.max_cancellations, config.safety.max_cost_usd),
        )
        assert expected == actual

    def test_api_key_is_a_secret_that_never_prints(self, tmp_path: Path) -> None:
        """The api_key is a Secret; neither it nor the config's repr shows the key."""
        text = "workspace: w\nproviders:\n  bland: {api_key: '${BLAND_API_KEY}'}\n"
        (tmp_path / "reconciler.yaml").write_text(text, encoding="utf-8")
        config = load_config(tmp_path / "reconciler.yaml", environ={"BLAND_API_KEY": SECRET})
        provider = config.provider(Vendor.BLAND)
        assert provider is not None
        assert isinstance(provider.api_key, Secret)
        shown = [str(provider.api_key), repr(provider.api_key), repr(config), str(provider)]
        assert (["***", "Secret('***')"], []) == (shown[:2], [s for s in shown if SECRET in s])

    def test_missing_provider_block_is_none(self, tmp_path: Path) -> None:
        """config.provider() is None for a vendor without a block."""
        config = write(tmp_path, {}, "workspace: w\nproviders: {bland: {}}\n")
        bland_ = config.provider(Vendor.BLAND)
        assert bland_ is not None
        assert (None, None) == (config.provider(Vendor.ARIZE), bland_.api_key)


class TestResources:
    def test_example_builds_two_bland_resources(self, tmp_path: Path) -> None:
        """The shipped example loads as two BlandEvalRuns at their document lines."""
        (tmp_path / "evals").mkdir()
        shutil.copy(EXAMPLE, tmp_path / "evals" / "checkout.yaml")
        config = write(tmp_path, {}, "workspace: examples\nmanifests: ['evals/**/*.yaml']\n")
        resources = load_manifests(config, environ={})
        expected = [
            ("BlandEvalRun/checkout-nightly", "evals/checkout.yaml:3", None, False),
            ("BlandEvalRun/refunds-weekly", "evals/checkout.yaml:55", None, True),
        ]
        actual = [
            (str(r.address), str(r.source), r.natural_key, r.lifecycle.protect) for r in resources
        ]
        assert expected == actual

    def test_example_lifecycle_and_thresholds(self, tmp_path: Path) -> None:
        """The example's triggers, max_attempts and thresholds are carried over."""
        shutil.copy(EXAMPLE, tmp_path / "checkout.yaml")
        nightly, weekly = load_manifests(write(tmp_path, {}), environ={})
        expected = (
            (("dataset", '"2026-11"'),),
            2,
            (
                Threshold(metric="pass_rate_pct", min=70),
                Threshold(metric="cost_usd", max=5),
                Threshold(metric="pass_rate_pct", max_drop=5, baseline="previous"),
            ),
        )
        assert expected == (
            nightly.lifecycle.triggers,
            weekly.lifecycle.max_attempts,
            nightly.thresholds,
        )

    def test_spec_hash_stable_across_key_order(self, tmp_path: Path) -> None:
        """Reordering keys in YAML does not change the spec hash."""
        one = bland(CALLS, *AGENTS, "  run_mode: text", "  pass_threshold_pct: 75")
        two = bland("  pass_threshold_pct: 75", "  run_mode: text", *AGENTS, CALLS)
        (a,) = loaded(tmp_path, {"a.yaml": one})
        (b,) = loaded(tmp_path, {"a.yaml": two})
        assert a.spec_hash == b.spec_hash

    def test_spec_change_changes_hash(self, tmp_path: Path) -> None:
        """A different spec value gives a different hash."""
        (a,) = loaded(tmp_path, {"a.yaml": bland(CALLS, *AGENTS, "  pass_threshold_pct: 75")})
        (b,) = loaded(tmp_path, {"a.yaml": bland(CALLS, *AGENTS, "  pass_threshold_pct: 76")})
        assert a.spec_hash != b.spec_hash

    def test_triggers_change_hash(self, tmp_path: Path) -> None:
        """Changing a trigger value changes the spec hash; reordering triggers does not."""

        def hash_of(triggers: str) -> str:
            (resource,) = loaded(
                tmp_path, {"a.yaml": valid_bland(tail=("lifecycle:", f"  triggers: {triggers}"))}
            )
            return resource.spec_hash

        base = hash_of("{dataset: '2026-11', model: m1}")
        assert (True, False, False) == (
            base == hash_of("{model: m1, dataset: '2026-11'}"),
            base == hash_of("{dataset: '2026-12', model: m1}"),
            base == hash_of("{dataset: '2026-11'}"),
        )

    def test_adaline_natural_key(self, tmp_path: Path) -> None:
        """An AdalineEvaluation is keyed by prompt, evaluator and dataset."""
        (resource,) = loaded(tmp_path, {"a.yaml": adaline()})
        expected = (
            Address(Kind.ADALINE_EVALUATION, "faithfulness"),
            adaline_vendor.key(prompt_id=PROMPT, evaluator_id=EVALUATOR, dataset_id=DATASET),
        )
        assert expected == (resource.address, resource.natural_key)

    def test_arize_window_natural_key_is_utc(self, tmp_path: Path) -> None:
        """An Arize window key is the task plus the window in UTC with milliseconds."""
        text = window("2026-11-01T02:00:00+02:00", "2026-11-02T00:00:00Z")
        (resource,) = loaded(tmp_path, {"a.yaml": text})
        expected = NaturalKey(
            Kind.ARIZE_TASK_RUN,
            (
                ("task_id", "task-1"),
                ("data_start_time", "2026-11-01T00:00:00.000Z"),
                ("data_end_time", "2026-11-02T00:00:00.000Z"),
            ),
        )
        assert expected == resource.natural_key

    def test_arize_experiment_natural_key(self, tmp_path: Path) -> None:
        """An Arize experiment run is keyed by task and experiment name."""
        (resource,) = loaded(
            tmp_path, {"a.yaml": arize("  experiment_name: nightly-1", "  max_examples: 5")}
        )
        assert (
            arize_vendor.experiment_key(task_id="task-1", experiment_name="nightly-1")
            == resource.natural_key
        )

    def test_sensitive_paths_for_env_values(self, tmp_path: Path) -> None:
        """Spec paths filled from ${ENV} are recorded, other values are not."""
        text = bland('  call_ids: ["${CALL_A}", c-2]', *AGENTS, "  metadata: {owner: '${OWNER}'}")
        (resource,) = loaded(tmp_path, {"a.yaml": text}, {"CALL_A": "c-1", "OWNER": "ops"})
        expected = (frozenset({"call_ids[0]", "metadata.owner"}), ["c-1", "c-2"])
        assert expected == (resource.sensitive_paths, resource.spec["call_ids"])

    def test_resources_sorted_by_address(self, tmp_path: Path) -> None:
        """load_manifests returns resources sorted by address whatever the file order."""
        files = {"a.yaml": valid_bland(name="zeta"), "b.yaml": valid_bland(name="alpha")}
        assert ["alpha", "zeta"] == [r.address.name for r in loaded(tmp_path, files)]

    def test_parse_manifest_returns_no_resources_with_problems(self) -> None:
        """parse_manifest drops the valid documents of a file that has any problem."""
        text = valid_bland() + "---\n" + valid_bland(name="Bad")
        resources, problems = parse_manifest(text, "x.yaml", environ={})
        assert ([], ["x.yaml:13: metadata.name"]) == (
            resources,
            [f"{p.path}:{p.line}: {p.field}" for p in problems],
        )


class TestArizeBranches:
    def test_task_id_alone_names_both_kinds_of_run(self, tmp_path: Path) -> None:
        """A spec with only task_id says what each kind of Arize run needs."""
        text = arize()
        expected = [
            "a.yaml:4: spec: needs `data_start_time` and `data_end_time` or `experiment_name`. "
            "Add one of them"
        ]
        assert expected == problems_of(tmp_path, text)

    def test_experiment_run_with_a_window_field(self, tmp_path: Path) -> None:
        """A window field in an experiment run is an unknown field of the experiment branch."""
        text = arize("  experiment_name: e", "  data_start_time: '2026-11-01T00:00:00Z'")
        lines = problems_of(tmp_path, text)
        assert ["a.yaml:7: spec.data_start_time: unknown field `data_start_time`"] == [
            x.split(". ")[0] for x in lines
        ]

    def test_window_run_with_bad_max_spans(self, tmp_path: Path) -> None:
        """A window run's own field errors are reported, not the experiment branch's."""
        text = window("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z")
        text = text.replace("  data_end_time", "  max_spans: 0\n  data_end_time")
        expected = ["a.yaml:7: spec.max_spans: must be at least 1, got 0. Use a value at least 1"]
        assert expected == problems_of(tmp_path, text)


class TestEmptyDocuments:
    def test_stray_separator_between_documents_is_ignored(self, tmp_path: Path) -> None:
        """A `---` with nothing after it adds no document and no problem."""
        text = valid_bland() + "---\n---\n" + valid_bland(name="second") + "---\n"
        assert ["nightly", "second"] == [r.address.name for r in loaded(tmp_path, {"a.yaml": text})]

    def test_second_document_source_line(self, tmp_path: Path) -> None:
        """Each resource's source is its own document's first line."""
        text = valid_bland() + "---\n" + valid_bland(name="second")
        resources = loaded(tmp_path, {"a.yaml": text})
        assert ["a.yaml:1", "a.yaml:10"] == [str(r.source) for r in resources]


class TestDefaultPace:
    def test_each_vendor_gets_its_default_pace_and_null_means_no_cap(self, tmp_path: Path) -> None:
        """Absent: the vendor's published limit (Adaline) or no cap; null turns a cap off."""
        path = tmp_path / "reconciler.yaml"
        path.write_text(
            "workspace: ws\nproviders:\n  bland: {}\n  adaline: {}\n"
            "  arize: {requests_per_second: 20}\n"
        )
        config = load_config(path, environ={})
        paces = {p.vendor.value: p.requests_per_second for p in config.providers}
        assert {"adaline": 100.0, "arize": 20, "bland": None} == paces
        path.write_text("workspace: ws\nproviders:\n  adaline: {requests_per_second: null}\n")
        assert [None] == [p.requests_per_second for p in load_config(path, environ={}).providers]
