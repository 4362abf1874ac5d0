"""Arize's experiments: the seeded ones and those RUN_EXPERIMENT runs provision (§3.8, §12)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from reconciler.emulator.arize.catalogue import DATASETS, EXPERIMENTS, SPACES, Task, global_id
from reconciler.emulator.arize.lifecycle import Lifecycle
from reconciler.emulator.arize.paging import limit_of, page_of, substring_filter
from reconciler.emulator.arize.problems import check_filter, check_id, not_found
from reconciler.emulator.arize.store import ArizeStore
from reconciler.emulator.formats import instant
from reconciler.emulator.http import Response
from reconciler.emulator.routing import Call


class Experiments:
    """The `/v2/experiments` routes, over the catalogue and the runs that made experiments."""

    def __init__(
        self,
        store: ArizeStore,
        lifecycle: Lifecycle,
        *,
        seed: int,
        clock: Callable[[], float],
        tasks: Mapping[str, Task],
    ) -> None:
        self._store = store
        self._lifecycle = lifecycle
        self._seed = seed
        self._clock = clock
        self._tasks = tasks

    def experiment_id(self, seq: int) -> str:
        """Return the id of the experiment the run numbered `seq` provisions."""
        tag = hashlib.sha256(f"arize-experiment:{self._seed}:{seq}".encode()).hexdigest()[:4]
        return global_id("Experiment", 1000 + seq, tag)

    def every(self) -> list[dict[str, Any]]:
        """Every experiment that exists now: the seeded ones and those runs provisioned."""
        found = [
            {
                "id": e.id,
                "name": e.name,
                "space_id": e.space_id,
                "dataset_id": e.dataset_id,
                "dataset_version_id": e.dataset_version_id,
                "created": e.created,
            }
            for e in EXPERIMENTS.values()
        ]
        now = self._clock()
        for row in self._store.experiment_runs():
            if row["task_id"] not in self._tasks:
                continue
            started = self._lifecycle.view(row, now)["started"]
            if started is None:
                continue
            dataset = DATASETS[row["dataset_id"]]
            found.append(
                {
                    "id": self.experiment_id(row["seq"]),
                    "name": row["experiment_name"],
                    "space_id": dataset.space_id,
                    "dataset_id": dataset.id,
                    "dataset_version_id": json.loads(row["request"])["dataset_version_id"],
                    "created": started,
                }
            )
        return found

    @staticmethod
    def _render_experiment(found: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": found["id"],
            "name": found["name"],
            "space_id": found["space_id"],
            "dataset_id": found["dataset_id"],
            "dataset_version_id": found["dataset_version_id"],
            "created_at": instant(found["created"]),
            "updated_at": instant(found["created"]),
            "experiment_traces_project_id": None,
            "integration_id": None,
        }

    def one(self, call: Call) -> Response:
        """Answer GET /v2/experiments/{experiment_id}."""
        experiment_id = call.params["experiment_id"]
        check_id(experiment_id, "Experiment", "experiment")
        for found in self.every():
            if found["id"] == experiment_id:
                return Response(200, self._render_experiment(found))
        raise not_found("experiment", experiment_id)

    def listing(self, call: Call) -> Response:
        """Answer GET /v2/experiments."""
        query = call.request.query
        dataset_id = check_filter(query, "dataset_id", "Dataset", "dataset", DATASETS)
        space_id = check_filter(query, "space_id", "Space", "space", SPACES)
        name = substring_filter(query, "name")
        limit_of(query)
        items = [
            (found["created"], found["id"], self._render_experiment(found))
            for found in self.every()
            if (dataset_id is None or found["dataset_id"] == dataset_id)
            and (space_id is None or found["space_id"] == space_id)
            and (name is None or name in found["name"].lower())
        ]
        scope = "experiments:" + json.dumps([dataset_id, space_id, name])
        return page_of(items, query, scope, "experiments")
