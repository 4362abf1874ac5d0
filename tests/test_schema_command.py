"""`reconciler schema`: the JSON Schemas, usable outside this repository."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from reconciler.cli import SCHEMA_KINDS, ExitCode, cli
from reconciler.schema import SCHEMA_FILES as OFFERED

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILES = sorted(p.name for p in (ROOT / "schemas").glob("*.schema.json"))
KINDS = {
    "BlandEvalRun": "bland-eval-run.schema.json",
    "AdalineEvaluation": "adaline-evaluation.schema.json",
    "ArizeTaskRun": "arize-task-run.schema.json",
    "Config": "reconciler.schema.json",
    "Plan": "plan.schema.json",
    "Status": "status.schema.json",
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("name", SCHEMA_FILES, ids=SCHEMA_FILES)
def test_every_schema_has_a_stable_versioned_id_and_stays_valid(name):
    """Each $id is https://reconciler.dev/schemas/v1/<file>, and the schema is a valid one."""
    schema = json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))
    assert f"https://reconciler.dev/schemas/v1/{name}" == schema["$id"]
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_shipped_schema_has_a_kind():
    """No schema file is left out of `schema --kind` and `--export`."""
    assert SCHEMA_FILES == sorted(KINDS.values())
    assert list(KINDS) == list(SCHEMA_KINDS) == list(OFFERED)


@pytest.mark.parametrize(("kind", "file_name"), KINDS.items(), ids=list(KINDS))
def test_schema_kind_prints_that_schema_exactly(runner, kind, file_name):
    result = runner.invoke(cli, ["schema", "--kind", kind])
    assert ExitCode.OK == result.exit_code, result.stderr
    shipped = json.loads((ROOT / "schemas" / file_name).read_text(encoding="utf-8"))
    assert shipped == json.loads(result.stdout)
    assert "" == result.stderr


def test_schema_export_writes_every_schema_as_shipped(runner, tmp_path):
    out = tmp_path / "editor" / "schemas"
    result = runner.invoke(cli, ["schema", "--export", str(out)])
    assert ExitCode.OK == result.exit_code, result.stderr
    assert SCHEMA_FILES == sorted(p.name for p in out.iterdir())
    for name in SCHEMA_FILES:
        expected = json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))
        assert expected == json.loads((out / name).read_text(encoding="utf-8")), name
    assert f"Wrote 6 schema(s) to {out}.\n" == result.stderr


def test_schema_export_is_relative_to_the_chdir_directory(runner, tmp_path):
    """As with Terraform's -chdir, a relative --export DIR lands under -C DIR."""
    result = runner.invoke(cli, ["-C", str(tmp_path), "schema", "--export", "schemas"])
    assert ExitCode.OK == result.exit_code, result.stderr
    assert SCHEMA_FILES == sorted(p.name for p in (tmp_path / "schemas").iterdir())


def test_schema_export_into_a_path_that_cannot_be_a_directory_is_one_line_exit_1(runner, tmp_path):
    (tmp_path / "taken").write_text("a file, not a directory\n", encoding="utf-8")
    result = runner.invoke(cli, ["schema", "--export", str(tmp_path / "taken" / "schemas")])
    assert ExitCode.ERROR == result.exit_code
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: cannot write the schemas to {tmp_path / 'taken' / 'schemas'}")
    assert line.endswith("Pass --export a directory you can write to")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "argv",
    [["schema"], ["schema", "--kind", "Plan", "--export", "x"]],
    ids=["neither", "both"],
)
def test_schema_needs_exactly_one_of_kind_and_export(runner, argv, tmp_path):
    result = runner.invoke(cli, ["-C", str(tmp_path), *argv])
    assert ExitCode.ERROR == result.exit_code
    assert (
        "Error: pass either --kind KIND (BlandEvalRun, AdalineEvaluation, ArizeTaskRun, Config, "
        "Plan, Status) or --export DIR" == result.stderr.splitlines()[-1]
    )
    assert not (tmp_path / "x").exists()


def test_an_unknown_schema_kind_names_the_choices(runner):
    result = runner.invoke(cli, ["schema", "--kind", "Deployment"])
    assert ExitCode.ERROR == result.exit_code
    assert (
        "Error: Invalid value for '--kind': 'Deployment' is not one of 'BlandEvalRun', "
        "'AdalineEvaluation', 'ArizeTaskRun', 'Config', 'Plan', 'Status'."
    ) == result.stderr.splitlines()[-1]
