"""Arize's seed catalogue: spaces, projects, datasets, experiments and tasks every key sees.

Fixed ids, documented in docs/emulator.md ("## Arize"), and the id scheme (arize.md §1).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def global_id(kind: str, n: int, tag: str) -> str:
    """Return an Arize-style global id: standard base64 of `Kind:n:tag` (arize.md §1)."""
    return base64.b64encode(f"{kind}:{n}:{tag}".encode()).decode()


def user_id_of(key: str) -> str:
    """Return the user id of an API key: base64 of `User:<n>:<tag>` from the key's SHA-256.

    `n` is the first 5 hex digits of sha256(key) read as a number, `tag` the next 4 hex digits.
    A client learns its id from the `created_by_user_id` of its first trigger answer.
    """
    digest = hashlib.sha256(key.encode()).hexdigest()
    return global_id("User", int(digest[:5], 16), digest[5:9])


CATALOGUE_TAG = "seed"
CATALOGUE_USER_ID = global_id("User", 1, CATALOGUE_TAG)
CATALOGUE_EPOCH = datetime(2026, 3, 1, tzinfo=UTC).timestamp()


@dataclass(frozen=True, slots=True, kw_only=True)
class Space:
    """A space: tasks, projects and datasets live in one."""

    id: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    """A tracing project (the data of project-based evaluation tasks)."""

    id: str
    name: str
    space_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    """A dataset with its versions (oldest first; the last is the latest) and example count."""

    id: str
    name: str
    space_id: str
    version_ids: tuple[str, ...]
    example_count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Experiment:
    """An experiment that exists from the start (not made by a run of the emulator)."""

    id: str
    name: str
    space_id: str
    dataset_id: str
    dataset_version_id: str
    created: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """A task of the catalogue, with the space it is listed under (not a field of a Task)."""

    id: str
    name: str
    type: str
    space_id: str
    created: float
    project_id: str | None = None
    dataset_id: str | None = None
    sampling_rate: float | None = None
    is_continuous: bool = False
    query_filter: str | None = None
    evaluators: tuple[Mapping[str, Any], ...] = ()
    experiment_ids: tuple[str, ...] = ()
    run_configuration: Mapping[str, Any] | None = field(default=None)


def _evaluator(n: int, name: str, mappings: Mapping[str, str] | None) -> dict[str, Any]:
    return {
        "evaluator_id": global_id("Evaluator", n, CATALOGUE_TAG),
        "evaluator_name": name,
        "evaluator_version_id": None,
        "query_filter": None,
        "column_mappings": dict(mappings) if mappings is not None else None,
    }


SPACE_MAIN = global_id("Space", 1, CATALOGUE_TAG)
SPACE_SANDBOX = global_id("Space", 2, CATALOGUE_TAG)
SPACES: dict[str, Space] = {
    s.id: s
    for s in (
        Space(id=SPACE_MAIN, name="emulator-main"),
        Space(id=SPACE_SANDBOX, name="emulator-sandbox"),
    )
}

PROJECT_SUPPORT = global_id("Project", 11, CATALOGUE_TAG)
PROJECT_SANDBOX = global_id("Project", 12, CATALOGUE_TAG)
PROJECTS: dict[str, Project] = {
    p.id: p
    for p in (
        Project(id=PROJECT_SUPPORT, name="support-bot", space_id=SPACE_MAIN),
        Project(id=PROJECT_SANDBOX, name="sandbox-bot", space_id=SPACE_SANDBOX),
    )
}

DATASET_QA = global_id("Dataset", 21, CATALOGUE_TAG)
DATASET_AGENT = global_id("Dataset", 22, CATALOGUE_TAG)
DATASETS: dict[str, Dataset] = {
    d.id: d
    for d in (
        Dataset(
            id=DATASET_QA,
            name="support-qa",
            space_id=SPACE_MAIN,
            version_ids=(
                global_id("DatasetVersion", 31, CATALOGUE_TAG),
                global_id("DatasetVersion", 32, CATALOGUE_TAG),
            ),
            example_count=120,
        ),
        Dataset(
            id=DATASET_AGENT,
            name="agent-scenarios",
            space_id=SPACE_SANDBOX,
            version_ids=(global_id("DatasetVersion", 33, CATALOGUE_TAG),),
            example_count=40,
        ),
    )
}

EXPERIMENTS: dict[str, Experiment] = {
    e.id: e
    for e in (
        Experiment(
            id=global_id("Experiment", 41, CATALOGUE_TAG),
            name="baseline",
            space_id=SPACE_MAIN,
            dataset_id=DATASET_QA,
            dataset_version_id=DATASETS[DATASET_QA].version_ids[0],
            created=CATALOGUE_EPOCH + 86400,
        ),
        Experiment(
            id=global_id("Experiment", 42, CATALOGUE_TAG),
            name="agent-v1",
            space_id=SPACE_SANDBOX,
            dataset_id=DATASET_AGENT,
            dataset_version_id=DATASETS[DATASET_AGENT].version_ids[0],
            created=CATALOGUE_EPOCH + 2 * 86400,
        ),
    )
}

_SPAN_MAPPINGS = {"input": "attributes.input.value", "output": "attributes.output.value"}
TASKS: dict[str, Task] = {
    t.id: t
    for t in (
        Task(
            id=global_id("OnlineTask", 1, CATALOGUE_TAG),
            name="hallucination-check",
            type="TEMPLATE_EVALUATION",
            space_id=SPACE_MAIN,
            created=CATALOGUE_EPOCH + 3 * 86400,
            project_id=PROJECT_SUPPORT,
            sampling_rate=1.0,
            evaluators=(_evaluator(51, "hallucination", _SPAN_MAPPINGS),),
        ),
        Task(
            id=global_id("OnlineTask", 2, CATALOGUE_TAG),
            name="json-validity",
            type="CODE_EVALUATION",
            space_id=SPACE_MAIN,
            created=CATALOGUE_EPOCH + 4 * 86400,
            project_id=PROJECT_SUPPORT,
            sampling_rate=0.5,
            is_continuous=True,
            query_filter="span_kind = 'LLM'",
            evaluators=(_evaluator(52, "is-json", None),),
        ),
        Task(
            id=global_id("OnlineTask", 3, CATALOGUE_TAG),
            name="answer-correctness",
            type="TEMPLATE_EVALUATION",
            space_id=SPACE_MAIN,
            created=CATALOGUE_EPOCH + 5 * 86400,
            dataset_id=DATASET_QA,
            evaluators=(_evaluator(53, "correctness", {"output": "output", "ref": "expected"}),),
            experiment_ids=(global_id("Experiment", 41, CATALOGUE_TAG),),
        ),
        Task(
            id=global_id("OnlineTask", 4, CATALOGUE_TAG),
            name="prompt-experiment",
            type="RUN_EXPERIMENT",
            space_id=SPACE_MAIN,
            created=CATALOGUE_EPOCH + 6 * 86400,
            dataset_id=DATASET_QA,
            run_configuration={"type": "LLM_GENERATION"},
        ),
        Task(
            id=global_id("OnlineTask", 5, CATALOGUE_TAG),
            name="hallucination-check",
            type="TEMPLATE_EVALUATION",
            space_id=SPACE_SANDBOX,
            created=CATALOGUE_EPOCH + 7 * 86400,
            project_id=PROJECT_SANDBOX,
            sampling_rate=0.25,
            evaluators=(_evaluator(54, "hallucination", _SPAN_MAPPINGS),),
        ),
        Task(
            id=global_id("OnlineTask", 6, CATALOGUE_TAG),
            name="agent-regression",
            type="RUN_EXPERIMENT",
            space_id=SPACE_SANDBOX,
            created=CATALOGUE_EPOCH + 8 * 86400,
            dataset_id=DATASET_AGENT,
            run_configuration={"type": "AGENT_CALL"},
        ),
    )
}
