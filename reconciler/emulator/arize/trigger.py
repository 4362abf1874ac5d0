"""Arize's trigger of a task run: checking the body, then storing the run (arize.md §4, §12).

An evaluation task takes a data window (or, for a project task, the time since its last run);
a RUN_EXPERIMENT task makes an experiment whose name must be free in the dataset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from reconciler.emulator.arize.catalogue import DATASETS, EXPERIMENTS, Task, global_id
from reconciler.emulator.arize.problems import Problem, is_int, parse_instant, strings
from reconciler.emulator.arize.store import ArizeStore
from reconciler.emulator.http import ApiError, Request

EVALUATION_TYPES = ("TEMPLATE_EVALUATION", "CODE_EVALUATION")
TASK_TYPES = (*EVALUATION_TYPES, "RUN_EXPERIMENT")
EVALUATION_FIELDS = frozenset(
    {"data_start_time", "data_end_time", "max_spans", "override_evaluations", "experiment_ids"}
)
EXPERIMENT_FIELDS = frozenset(
    {
        "experiment_name",
        "dataset_version_id",
        "example_ids",
        "max_examples",
        "tracing_metadata",
        "evaluation_task_ids",
        "query_filter",
    }
)
DEFAULT_MAX_SPANS = 10_000
MAX_WINDOW = timedelta(days=30)
EXPERIMENT_NAME_FORBIDDEN = ('"', "\\")


def run_id_of(seed: int, seq: int) -> str:
    """Return the global id of the run numbered `seq`."""
    tag = hashlib.sha256(f"arize-run:{seed}:{seq}".encode()).hexdigest()[:4]
    return global_id("TaskRun", seq, tag)


class Triggers:
    """Checks trigger bodies and stores the runs they start."""

    def __init__(
        self,
        store: ArizeStore,
        *,
        seed: int,
        clock: Callable[[], float],
        tasks: Mapping[str, Task],
    ) -> None:
        self._store = store
        self._seed = seed
        self._clock = clock
        self._tasks = tasks

    def trigger(self, task: Task, user_id: str, request: Request) -> str:
        """Check the body of a trigger of `task` and store the run; return its id."""
        try:
            body = request.json()
        except ApiError:
            raise Problem(400, "Request body must be valid JSON") from None
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise Problem(400, "Request body must be a JSON object")
        own, other = (
            (EXPERIMENT_FIELDS, EVALUATION_FIELDS)
            if task.type == "RUN_EXPERIMENT"
            else (EVALUATION_FIELDS, EXPERIMENT_FIELDS)
        )
        for name in body:
            if name in other:
                raise Problem(400, f"Field '{name}' is not valid for a {task.type} task")
            if name not in own:
                raise Problem(400, f"Unknown field '{name}'")
        if task.type == "RUN_EXPERIMENT":
            return self._experiment(task, user_id, body)
        return self._evaluation(task, user_id, body)

    def _evaluation(self, task: Task, user_id: str, body: dict[str, Any]) -> str:
        start = body.get("data_start_time")
        end = body.get("data_end_time")
        start_ms = parse_instant("data_start_time", start) if start is not None else None
        end_ms = parse_instant("data_end_time", end) if end is not None else None
        max_spans = body.get("max_spans", DEFAULT_MAX_SPANS)
        if not is_int(max_spans):
            raise Problem(400, "max_spans must be an integer")
        if max_spans < 1:
            raise Problem(422, "max_spans must be at least 1")
        override = body.get("override_evaluations", False)
        if not isinstance(override, bool):
            raise Problem(400, "override_evaluations must be a boolean")
        experiment_ids = body.get("experiment_ids")
        if experiment_ids is not None:
            if task.dataset_id is None:
                raise Problem(400, "Field 'experiment_ids' is only valid for dataset-based tasks")
            experiment_ids = strings("experiment_ids", experiment_ids)
        request = {
            "kind": "evaluation",
            "max_spans": max_spans,
            "override_evaluations": override,
            "experiment_ids": experiment_ids
            if experiment_ids is not None
            else list(task.experiment_ids),
        }
        with self._store.lock:
            now = self._clock()
            if task.project_id is not None:
                if end_ms is None:
                    end_ms = int(now * 1000)
                if start_ms is None:
                    last = self._store.last_created_locked(task.id)
                    if last is None:
                        raise Problem(
                            422, "data_start_time is required on the first run of a project task"
                        )
                    start_ms = int(last * 1000)
            if start_ms is not None and end_ms is not None:
                if start_ms >= end_ms:
                    raise Problem(422, "data_start_time must be before data_end_time")
                if end_ms - start_ms > MAX_WINDOW // timedelta(milliseconds=1):
                    raise Problem(422, "The data window may span at most 30 days")
            run_id = self._insert(task, now, user_id, (start_ms, end_ms), None, request)
        return run_id

    def _experiment(self, task: Task, user_id: str, body: dict[str, Any]) -> str:
        assert task.dataset_id is not None
        dataset = DATASETS[task.dataset_id]
        name = body.get("experiment_name")
        if name is not None and not isinstance(name, str):
            raise Problem(400, "experiment_name must be a string")
        version = body.get("dataset_version_id")
        if version is not None and not isinstance(version, str):
            raise Problem(400, "dataset_version_id must be a string")
        example_ids = body.get("example_ids")
        if example_ids is not None:
            example_ids = strings("example_ids", example_ids)
        max_examples = body.get("max_examples")
        if max_examples is not None and not is_int(max_examples):
            raise Problem(400, "max_examples must be an integer")
        tracing = body.get("tracing_metadata")
        if tracing is not None and (
            not isinstance(tracing, dict) or not all(isinstance(v, str) for v in tracing.values())
        ):
            raise Problem(400, "tracing_metadata must be an object of strings")
        follow_ups = body.get("evaluation_task_ids")
        if follow_ups is not None:
            follow_ups = strings("evaluation_task_ids", follow_ups)
        query_filter = body.get("query_filter")
        if query_filter is not None and not isinstance(query_filter, str):
            raise Problem(400, "query_filter must be a string")
        if name is None:
            raise Problem(422, "experiment_name is required")
        if not 1 <= len(name) <= 255 or any(c in name for c in EXPERIMENT_NAME_FORBIDDEN):
            raise Problem(422, 'experiment_name must be 1-255 characters without " or \\')
        if example_ids is not None and max_examples is not None:
            raise Problem(422, "example_ids and max_examples are mutually exclusive")
        if max_examples is not None and max_examples < 1:
            raise Problem(422, "max_examples must be at least 1")
        if version is not None and version not in dataset.version_ids:
            raise Problem(422, f"dataset_version_id '{version}' is not a version of the dataset")
        for follow_up in follow_ups or []:
            target = self._tasks.get(follow_up)
            if target is None or target.type not in EVALUATION_TYPES:
                raise Problem(422, f"evaluation_task_ids: '{follow_up}' is not an evaluation task")
        if example_ids is not None:
            count = len(dict.fromkeys(example_ids))
        elif max_examples is not None:
            count = min(max_examples, dataset.example_count)
        else:
            count = dataset.example_count
        request = {
            "kind": "experiment",
            "experiment_name": name,
            "dataset_version_id": version or dataset.version_ids[-1],
            "example_count": count,
            "evaluation_task_ids": follow_ups or [],
        }
        with self._store.lock:
            taken = any(
                e.dataset_id == dataset.id and e.name == name for e in EXPERIMENTS.values()
            ) or self._store.experiment_taken_locked(dataset.id, name)
            if taken:
                raise Problem(
                    409, f"An experiment named '{name}' already exists in dataset {dataset.id}"
                )
            run_id = self._insert(task, self._clock(), user_id, (None, None), name, request)
        return run_id

    def _insert(
        self,
        task: Task,
        now: float,
        user_id: str | None,
        window_ms: tuple[int | None, int | None],
        experiment_name: str | None,
        request: Mapping[str, Any],
        *,
        commit: bool = True,
    ) -> str:
        """Store one run (the caller holds the lock); return its id."""
        return insert_run(
            self._store,
            seed=self._seed,
            task=task,
            created=now,
            user_id=user_id,
            window_ms=window_ms,
            experiment_name=experiment_name,
            request=request,
            commit=commit,
        )


def insert_run(
    store: ArizeStore,
    *,
    seed: int,
    task: Task,
    created: float,
    user_id: str | None,
    window_ms: tuple[int | None, int | None],
    experiment_name: str | None,
    request: Mapping[str, Any],
    commit: bool = True,
) -> str:
    """Store one run of `task` (the caller holds the store's lock); return its id."""
    experiment = None
    if experiment_name is not None:
        assert task.dataset_id is not None
        experiment = (task.dataset_id, experiment_name)
    return store.insert_locked(
        make_id=lambda seq: run_id_of(seed, seq),
        task_id=task.id,
        created=created,
        user_id=user_id,
        window_ms=window_ms,
        experiment=experiment,
        request=request,
        commit=commit,
    )
