"""A live run's leaves cost memory per run only for their values (issue 13, memory)."""

from __future__ import annotations

from reconciler.model import RunFields


def test_runs_of_one_shape_share_one_tuple_of_paths_rather_than_a_pair_per_leaf() -> None:
    first = RunFields.of({"id": "run-1", "summary": {"score": 0.5}, "agents": [{"id": "a"}]})
    second = RunFields.of({"id": "run-2", "summary": {"score": 0.7}, "agents": [{"id": "b"}]})
    assert first.paths is second.paths
    assert second.leaves == (("id", "run-2"), ("summary.score", 0.7), ("agents.0.id", "b"))
    assert second.get("summary.score") == 0.7
    assert second.canonical("agents") == '[{"id":"b"}]'
