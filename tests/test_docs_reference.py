"""The generated reference pages in docs/reference/ match the schemas and the CLI."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _generator() -> ModuleType:
    path = ROOT / "docs" / "gen_reference.py"
    spec = importlib.util.spec_from_file_location("gen_reference", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _generator()


@pytest.mark.parametrize("relative", sorted(GENERATOR.outputs()))
def test_reference_is_up_to_date(relative: str) -> None:
    expected = GENERATOR.outputs()[relative]
    path = ROOT / relative
    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    if committed != expected:
        pytest.fail(f"{relative} is out of date: run python docs/gen_reference.py", pytrace=False)


def test_manifest_reference_lists_every_schema_field() -> None:
    text = GENERATOR.manifests_reference()
    for path in (
        "`workspace`",
        "`providers.arize.owner_user_id`",
        "`safety.max_cost_usd`",
        "`spec.attached_agents[].weight`",
        "`spec.promptId`",
        "`spec.experiment_name`",
        "`thresholds[].confidence`",
        "`lifecycle.rerun_after`",
    ):
        assert f"| {path} |" in text, path


def test_cli_reference_lists_every_command_and_exit_code() -> None:
    import click

    from reconciler.cli import ExitCode, cli

    text = GENERATOR.cli_reference()
    with click.Context(cli, info_name="reconciler") as ctx:
        for name in cli.list_commands(ctx):
            command = cli.get_command(ctx, name)
            assert command is not None
            assert f"`reconciler {name}`" in text, name
            for param in command.params:
                for opt in getattr(param, "opts", []):
                    if opt.startswith("-"):
                        assert f"`{opt}`" in text, (name, opt)
    for code in ExitCode:
        assert f"| {int(code)} |" in text, code
    assert "_RECONCILER_COMPLETE=bash_source reconciler" in text
