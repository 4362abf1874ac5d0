"""Hostile YAML: each a clear `file:line: field: message. fix`, never `internal error` or a hang."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.errors import ManifestError
from reconciler.manifest import load_config, load_manifests
from reconciler.model import Threshold

AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
HEAD = (
    "apiVersion: reconciler/v1\n"
    "kind: BlandEvalRun\n"
    "metadata: {name: nightly}\n"
    "spec:\n"
    "  call_ids: [c-1]\n"
    f"  attached_agents: [{{eval_agent_id: {AGENT}}}]\n"
)  # lines 1-6; what a test appends starts at line 7
FINITE = (
    "is not a finite number (JSON and the vendors have no NaN or infinity). Write a finite number"
)
RANGE = (
    "integer out of range: reconciler accepts 64-bit integers (-9223372036854775808 to "
    "9223372036854775807), as JSON parsers and the vendors do. Use a smaller number"
)
DEEP = "nested deeper than 64 levels. Flatten the document; manifests need a handful of levels"
BOMB = (
    "aliases expand to more than 10,000 values. Write the values out, or use fewer nested "
    "aliases (`*name`)"
)


def billion_laughs(levels: int = 9) -> str:
    """The classic alias bomb: 9 levels of 9 aliases each, 9**9 strings once expanded."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        lines.append(f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def load(root: Path, text: str) -> list[str]:
    """Write `text` as evals.yaml beside a minimal reconciler.yaml; return the problem lines."""
    (root / "reconciler.yaml").write_text("workspace: team\nmanifests: [evals.yaml]\n")
    (root / "evals.yaml").write_text(text, encoding="utf-8")
    config = load_config(root / "reconciler.yaml", environ={})
    with pytest.raises(ManifestError) as caught:
        load_manifests(config, environ={})
    return caught.value.lines()


def thresholds(root: Path, text: str) -> tuple[Threshold, ...]:
    """Load HEAD + `text` and return the resource's thresholds."""
    (root / "reconciler.yaml").write_text("workspace: team\nmanifests: [evals.yaml]\n")
    (root / "evals.yaml").write_text(HEAD + text, encoding="utf-8")
    (resource,) = load_manifests(load_config(root / "reconciler.yaml", environ={}), environ={})
    return resource.thresholds


class TestMergeKeys:
    def test_a_merge_key_copies_the_anchored_fields_and_explicit_ones_win(
        self, tmp_path: Path
    ) -> None:
        """`<<: *gate` is YAML that yaml.safe_load accepts, so reconciler does too."""
        text = (
            "thresholds:\n"
            "  - &gate {metric: pass_rate_pct, min: 80}\n"
            "  - <<: *gate\n"
            "    min: 70\n"
            "    confidence: 0.95\n"
        )
        expected = (
            Threshold(metric="pass_rate_pct", min=80),
            Threshold(metric="pass_rate_pct", min=70, confidence=0.95),
        )
        assert expected == thresholds(tmp_path, text)

    def test_a_list_of_merges_takes_each_field_from_the_first_that_has_it(
        self, tmp_path: Path
    ) -> None:
        """`<<: [*a, *b]`: earlier mappings win over later ones, as the YAML merge spec says."""
        text = (
            "thresholds:\n"
            "  - &strict {metric: pass_rate_pct, min: 90}\n"
            "  - &loose {metric: error_rate_pct, max: 5}\n"
            "  - <<: [*strict, *loose]\n"
        )
        expected = Threshold(metric="pass_rate_pct", min=90, max=5)
        assert expected == thresholds(tmp_path, text)[2]

    def test_a_bad_merged_value_is_reported_at_the_line_it_was_written(
        self, tmp_path: Path
    ) -> None:
        """The error of a merged field points at the anchor's line, where the user can fix it."""
        text = (
            "thresholds:\n"
            "  - &gate\n"
            "    metric: pass_rate_pct\n"
            "    min: not-a-number\n"
            "  - <<: *gate\n"
            "    metric: error_rate_pct\n"
        )
        expected = [
            "evals.yaml:10: thresholds[0].min: must be a number, got not-a-number. Write a number",
            "evals.yaml:10: thresholds[1].min: must be a number, got not-a-number. Write a number",
        ]
        assert expected == load(tmp_path, HEAD + text)

    def test_merging_something_that_is_not_a_mapping_is_an_error(self, tmp_path: Path) -> None:
        """`<<: *list` cannot merge; the line of the `<<` is named."""
        text = "thresholds:\n  - &calls [1, 2]\n  - <<: *calls\n    metric: pass_rate_pct\n"
        lines = load(tmp_path, HEAD + text)
        assert (
            "evals.yaml:9: thresholds[1].<<: `<<` merges mappings only. Write `<<: *anchor` or "
            "`<<: [*one, *two]` with anchors of mappings"
        ) in lines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "kind: !Ref BlandEvalRun\n",
            "evals.yaml:1: kind: unknown YAML tag `!Ref` (reconciler resolves no custom tags). "
            "Remove the tag, or quote the value if the `!` is part of it",
        ),
        (
            HEAD.replace("{name: nightly}", "{name: !!binary bmlnaHRseQ==}"),
            "evals.yaml:3: metadata.name: `!!binary` values are not supported. "
            "Write the value as text",
        ),
        (
            HEAD.replace("metadata: {name: nightly}", "metadata: !!set {nightly}"),
            "evals.yaml:3: metadata: YAML tag `!!set` is not supported (manifests are plain "
            "JSON-like YAML). Remove the tag",
        ),
        (
            HEAD + "lifecycle: {max_attempts: 99999999999999999999}\n",
            f"evals.yaml:7: lifecycle.max_attempts: {RANGE}",
        ),
        (
            HEAD + "lifecycle: {max_attempts: 9" + "9" * 5000 + "}\n",
            f"evals.yaml:7: lifecycle.max_attempts: {RANGE}",
        ),
        (
            HEAD + "thresholds: [{metric: pass_rate_pct, min: .nan}]\n",
            f"evals.yaml:7: thresholds[0].min: `.nan` {FINITE}",
        ),
        (
            HEAD + "thresholds: [{metric: cost_usd, max: .inf}]\n",
            f"evals.yaml:7: thresholds[0].max: `.inf` {FINITE}",
        ),
        (
            HEAD + "thresholds: [{metric: cost_usd, max: 1.0e+999}]\n",
            f"evals.yaml:7: thresholds[0].max: `1.0e+999` {FINITE}",
        ),
        (
            HEAD + "lifecycle: {rerun_after: 9999-12-31T23:59:59-01:00}\n",
            "evals.yaml:7: lifecycle.rerun_after: is out of range once converted to UTC. "
            "Use a time between the years 0001 and 9999",
        ),
        (HEAD + "x: " + "[" * 100 + "]" * 100 + "\n", f"evals.yaml:7: {DEEP}"),
        (HEAD + "x: " + "{a: " * 5000 + "}" * 5000 + "\n", f"evals.yaml:7: {DEEP}"),
        (billion_laughs(), f"evals.yaml:5: l4[0]: {BOMB}"),
        (
            "a: &a [*a]\n",
            "evals.yaml:1: a[0]: nested deeper than 64 levels (through aliases). Flatten the "
            "document; manifests need a handful of levels",
        ),
        (
            "a: &a {<<: *a}\n",
            "evals.yaml:1: a: merge keys (`<<`) nest deeper than 64 levels. "
            "Merge fewer levels of anchors",
        ),
    ],
    ids=[
        "custom-tag",
        "binary",
        "set",
        "int-beyond-64-bits",
        "int-beyond-python-digits",
        "nan",
        "inf",
        "float-overflow",
        "timestamp-out-of-range",
        "deep-flow-lists",
        "deep-flow-maps",
        "billion-laughs",
        "recursive-alias",
        "recursive-merge",
    ],
)
def test_hostile_yaml_is_one_clear_line_from_validate(
    tmp_path: Path, text: str, expected: str
) -> None:
    """validate prints the problem at its line and exits 1, never `internal error`."""
    (tmp_path / "reconciler.yaml").write_text("workspace: team\nmanifests: [evals.yaml]\n")
    (tmp_path / "evals.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "validate"])
    assert (1, "", f"Error: {expected}\n") == (result.exit_code, result.stdout, result.stderr)


def test_the_billion_laughs_file_is_refused_by_the_real_command_without_expanding(
    tmp_path: Path,
) -> None:
    """The alias bomb ends at once in the installed command (it ran for minutes before)."""
    (tmp_path / "reconciler.yaml").write_text("workspace: team\nmanifests: [evals.yaml]\n")
    (tmp_path / "evals.yaml").write_text(billion_laughs(), encoding="utf-8")
    command = [str(Path(sys.executable).with_name("reconciler")), "-C", str(tmp_path), "validate"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert (1, f"Error: evals.yaml:5: l4[0]: {BOMB}\n") == (result.returncode, result.stderr)
