"""The JSON Schemas shipped with reconciler, by kind, for use outside this repository.

Editors and other tools read them through `reconciler schema --kind KIND` (one, on stdout) or
`reconciler schema --export DIR` (all of them, as files). The files are package data, so an
install from the package index has them; each carries a stable `$id` (docs/cli.md).
"""

from __future__ import annotations

from enum import StrEnum
from importlib import resources
from pathlib import Path

from reconciler.errors import ConfigError

SCHEMA_BASE_URI = "https://reconciler.dev/schemas/v1/"


class SchemaKind(StrEnum):
    """What a schema describes: a manifest kind, reconciler.yaml, or a JSON output."""

    BLAND_EVAL_RUN = "BlandEvalRun"
    ADALINE_EVALUATION = "AdalineEvaluation"
    ARIZE_TASK_RUN = "ArizeTaskRun"
    CONFIG = "Config"
    PLAN = "Plan"
    STATUS = "Status"

    @property
    def file_name(self) -> str:
        """Return the schema's file name, the same in `schemas/` and in an export."""
        return _FILE_NAMES[self]


_FILE_NAMES = {
    SchemaKind.BLAND_EVAL_RUN: "bland-eval-run.schema.json",
    SchemaKind.ADALINE_EVALUATION: "adaline-evaluation.schema.json",
    SchemaKind.ARIZE_TASK_RUN: "arize-task-run.schema.json",
    SchemaKind.CONFIG: "reconciler.schema.json",
    SchemaKind.PLAN: "plan.schema.json",
    SchemaKind.STATUS: "status.schema.json",
}


def schema_text(kind: SchemaKind) -> str:
    """Return one schema exactly as shipped (JSON text ending in a newline)."""
    text = resources.files("reconciler").joinpath("schemas", kind.file_name).read_text("utf-8")
    return text if text.endswith("\n") else text + "\n"


def export_schemas(
    directory: Path, *, kinds: tuple[SchemaKind, ...] = tuple(SchemaKind)
) -> list[Path]:
    """Write the schemas of `kinds` into `directory` (created if needed); return the paths.

    Existing files of the same names are replaced: the export is what this version ships.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for kind in kinds:
            path = directory / kind.file_name
            path.write_text(schema_text(kind), encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the schemas to {directory}: {exc.strerror or exc}. "
            "Pass --export a directory you can write to"
        ) from exc
    return written
