"""The JSON Schemas shipped with reconciler, by kind, for use outside this repository.

Editors and other tools read them through `reconciler schema --kind KIND` (one, on stdout) or
`reconciler schema --export DIR` (all of them, as files). The files are package data, so an
install from the package index has them; each carries a stable `$id` (docs/cli.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from reconciler.errors import ConfigError
from reconciler.vendors.registry import VENDORS

SCHEMA_BASE_URI = "https://reconciler.dev/schemas/v1/"

# What a schema describes (a manifest kind, reconciler.yaml, or a JSON output) -> its file, the
# same in `schemas/` and in an export. The manifest kinds come from the vendor registry, so a
# new vendor's schema is offered without an edit here.
SCHEMA_FILES: Mapping[str, str] = {
    **{module.KIND.value: module.SCHEMA_FILE for module in VENDORS.values()},
    "Config": "reconciler.schema.json",
    "Plan": "plan.schema.json",
    "Status": "status.schema.json",
}
SCHEMA_KINDS: tuple[str, ...] = tuple(SCHEMA_FILES)


def schema_text(kind: str) -> str:
    """Return the schema of `kind` (one of SCHEMA_KINDS) exactly as shipped, newline-ended."""
    text = resources.files("reconciler").joinpath("schemas", SCHEMA_FILES[kind]).read_text("utf-8")
    return text if text.endswith("\n") else text + "\n"


def export_schemas(directory: Path, *, kinds: tuple[str, ...] = SCHEMA_KINDS) -> list[Path]:
    """Write the schemas of `kinds` into `directory` (created if needed); return the paths.

    Existing files of the same names are replaced: the export is what this version ships.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for kind in kinds:
            path = directory / SCHEMA_FILES[kind]
            path.write_text(schema_text(kind), encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the schemas to {directory}: {exc.strerror or exc}. "
            "Pass --export a directory you can write to"
        ) from exc
    return written
