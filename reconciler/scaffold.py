"""`reconciler init`: a working project in an empty directory (promptfoo's `init` is the model).

The project runs against the embedded emulator from the first minute: `validate`, `plan`,
`apply` and `status` work with no vendor account. The manifests name ids from the emulator's
seed catalogue (docs/emulator.md), and each file's editor modeline points at a schema that
`init` exports into the project (`schemas/`), so completion works for a user who installed
from the package index, offline, without this repository. Decisions: docs/cli.md, "init".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reconciler.errors import ConfigError
from reconciler.schema import SCHEMA_FILES, schema_text

SCHEMA_DIR = "schemas"
DEFAULT_WORKSPACE = "evals"

_RECONCILER_YAML = """\
# yaml-language-server: $schema=schemas/reconciler.schema.json
# Made by `reconciler init`. Every vendor points at the embedded emulator, so validate, plan,
# apply and status work at once with no vendor account (its state lives in .reconciler/).
# For a real vendor: delete its `base_url: emulator` line, uncomment its `api_key` line and
# export the variable it names (in CI: a repository secret of that name).
workspace: {workspace}
manifests: ["evals/**/*.yaml"]
providers:
  bland:
    base_url: emulator
    # api_key: "${{BLAND_API_KEY}}"
  adaline:
    base_url: emulator
    # api_key: "${{ADALINE_API_KEY}}"
  arize:
    base_url: emulator
    # api_key: "${{ARIZE_API_KEY}}"
    # The Arize user that creates this workspace's runs (the emulator's demo key's user here);
    # with a real key, set it to your key's user, or reconciler never cancels an Arize run.
    owner_user_id: "VXNlcjo2MDkwOTY6ODJlMw=="
safety:
  max_cancellations: 10
"""

_BLAND_YAML = """\
# yaml-language-server: $schema=../schemas/bland-eval-run.schema.json
# A Bland AI eval run: judges (eval agents) score recorded calls. The ids are from the
# emulator's seed catalogue; with a real key, use your own calls and agents.
apiVersion: reconciler/v1
kind: BlandEvalRun
metadata:
  name: support-smoke
spec:
  call_ids:
    - a1b2c3d4-0000-4000-8000-000000000001
    - a1b2c3d4-0000-4000-8000-000000000002
    - a1b2c3d4-0000-4000-8000-000000000003
    - a1b2c3d4-0000-4000-8000-000000000004
  attached_agents:
    - eval_agent_id: 11111111-aaaa-4bbb-8ccc-000000000001
      weight: 70
      target_level_keys: [pass]
    - eval_agent_id: 11111111-aaaa-4bbb-8ccc-000000000002
      weight: 30
  run_mode: text
  pass_threshold_pct: 75
thresholds:
  - {metric: pass_rate_pct, min: 50}
  - {metric: cost_usd, max: 1}
"""

_ADALINE_YAML = """\
# yaml-language-server: $schema=../schemas/adaline-evaluation.schema.json
# An Adaline evaluation: one prompt, one evaluator, one dataset (ids from the emulator's
# seed catalogue). Adaline runs carry no labels: reconciler matches them by these three ids
# and never cancels them.
apiVersion: reconciler/v1
kind: AdalineEvaluation
metadata:
  name: checkout-accuracy
spec:
  promptId: prompt_checkout_assistant_0001
  evaluatorId: evaluator_checkout_accuracy_0001
  datasetId: dataset_checkout_questions_0001
thresholds:
  - {metric: pass_rate_pct, min: 50}
"""

_ARIZE_YAML = """\
# yaml-language-server: $schema=../schemas/arize-task-run.schema.json
# An Arize task run: the emulator's hallucination check over one week of spans. The window
# is the run's identity: change it to evaluate new data.
apiVersion: reconciler/v1
kind: ArizeTaskRun
metadata:
  name: hallucination-weekly
spec:
  task_id: T25saW5lVGFzazoxOnNlZWQ=
  data_start_time: "2026-11-02T00:00:00Z"
  data_end_time: "2026-11-09T00:00:00Z"
  max_spans: 1000
thresholds:
  - {metric: error_rate_pct, max: 5}
"""

_PLAN_WORKFLOW = """\
# Plan on every pull request that touches the evals, and keep one PR comment up to date.
# Made by `reconciler init`: GitHub reads workflows from the repository root's .github/.
name: reconciler plan

on:
  pull_request:
    paths:
      - "reconciler.yaml"
      - "evals/**"

permissions:
  contents: read
  pull-requests: write # create or update the plan comment

concurrency:
  group: reconciler-plan-${{ github.event.pull_request.number }}
  cancel-in-progress: true

jobs:
  plan:
    runs-on: ubuntu-latest
    env:
      # Used once reconciler.yaml names them (real vendors); unused with base_url: emulator.
      BLAND_API_KEY: ${{ secrets.BLAND_API_KEY }}
      ADALINE_API_KEY: ${{ secrets.ADALINE_API_KEY }}
      ARIZE_API_KEY: ${{ secrets.ARIZE_API_KEY }}
    steps:
      - uses: actions/checkout@v4
      - name: reconciler plan
        uses: reconciler-dev/reconciler@v0
        with:
          command: plan
          comment: on-pr
"""

_APPLY_WORKFLOW = """\
# Apply on every push to main, wait for the runs and judge their thresholds.
# Made by `reconciler init`: GitHub reads workflows from the repository root's .github/.
name: reconciler apply

on:
  push:
    branches: [main]
    paths:
      - "reconciler.yaml"
      - "evals/**"

permissions:
  contents: read

# Never two applies at once, and never cancel one halfway.
concurrency:
  group: reconciler-apply
  cancel-in-progress: false

jobs:
  apply:
    runs-on: ubuntu-latest
    timeout-minutes: 90
    env:
      BLAND_API_KEY: ${{ secrets.BLAND_API_KEY }}
      ADALINE_API_KEY: ${{ secrets.ADALINE_API_KEY }}
      ARIZE_API_KEY: ${{ secrets.ARIZE_API_KEY }}
      # The embedded emulator only (base_url: emulator): its runs finish in seconds.
      RECONCILER_EMULATOR_TIME_SCALE: "60"
    steps:
      - uses: actions/checkout@v4
      - name: reconciler apply
        id: reconciler
        uses: reconciler-dev/reconciler@v0
        with:
          command: apply
          args: --timeout 3600
      - name: Upload the JUnit report
        if: always() && steps.reconciler.outputs.junit-path != ''
        uses: actions/upload-artifact@v4
        with:
          name: reconciler-junit
          path: ${{ steps.reconciler.outputs.junit-path }}
"""

# The embedded emulator keeps its state in .reconciler/: never commit it.
_STATE_GITIGNORE = (
    "# The embedded emulator's state (reconciler init): not for version control.\n*\n"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaffoldFile:
    """One file `init` writes: its path relative to the project, and its text."""

    path: PurePosixPath
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Scaffold:
    """What `init` did: the project directory and the files written, in order."""

    directory: Path
    workspace: str
    files: tuple[PurePosixPath, ...]


def workspace_name(directory: Path) -> str:
    """Derive a valid workspace name (`[a-z0-9][a-z0-9-]{0,39}`) from a directory's name."""
    name = re.sub(r"[^a-z0-9-]+", "-", directory.name.lower())
    name = name.lstrip("-")[:40].rstrip("-")
    return name or DEFAULT_WORKSPACE


def scaffold_files(workspace: str) -> tuple[ScaffoldFile, ...]:
    """Return every file of a new project, config first, schemas last."""
    texts = {
        "reconciler.yaml": _RECONCILER_YAML.format(workspace=workspace),
        "evals/bland.yaml": _BLAND_YAML,
        "evals/adaline.yaml": _ADALINE_YAML,
        "evals/arize.yaml": _ARIZE_YAML,
        ".github/workflows/reconciler-plan.yml": _PLAN_WORKFLOW,
        ".github/workflows/reconciler-apply.yml": _APPLY_WORKFLOW,
        ".reconciler/.gitignore": _STATE_GITIGNORE,
    }
    texts |= {f"{SCHEMA_DIR}/{name}": schema_text(kind) for kind, name in SCHEMA_FILES.items()}
    return tuple(ScaffoldFile(path=PurePosixPath(p), text=t) for p, t in texts.items())


def init_project(directory: Path, *, force: bool = False) -> Scaffold:
    """Write a new project into `directory`; never overwrite a file unless `force`.

    Every existing file is reported at once, before anything is written. If writing fails
    half-way, the files and directories this call created are removed again.
    """
    workspace = workspace_name(directory)
    files = scaffold_files(workspace)
    try:
        if directory.exists() and not directory.is_dir():
            raise ConfigError(f"{directory} is not a directory. Pass a directory to init")
        existing = [str(f.path) for f in files if (directory / f.path).exists()]
    except OSError as exc:
        raise _unwritable(exc, directory) from exc
    if existing and not force:
        raise ConfigError(
            f"init would overwrite {len(existing)} existing file(s) in {directory}: "
            f"{', '.join(existing)}. Move them away, pick an empty directory "
            "(`reconciler init DIR`), or pass --force to overwrite them"
        )
    created: list[Path] = []  # files and directories this call made, undone on failure
    try:
        for file in files:
            _write(directory / file.path, file.text, created)
    except OSError as exc:
        for path in reversed(created):
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink(missing_ok=True)
        raise _unwritable(exc, directory) from exc
    return Scaffold(directory=directory, workspace=workspace, files=tuple(f.path for f in files))


def _write(target: Path, text: str, created: list[Path]) -> None:
    """Write one file, making its directories; record in `created` what did not exist."""
    for parent in reversed((target.parent, *target.parent.parents)):
        if not parent.exists():
            parent.mkdir()
            created.append(parent)
    is_new = not target.exists()
    target.write_text(text, encoding="utf-8")
    if is_new:
        created.append(target)


def _unwritable(exc: OSError, directory: Path) -> ConfigError:
    return ConfigError(
        f"cannot write {exc.filename or directory}: {exc.strerror or exc}. "
        "init created nothing; pick a directory you can write to, or move what is in the way"
    )
