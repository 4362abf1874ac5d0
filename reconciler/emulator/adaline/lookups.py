"""Adaline's catalogue routes: prompts, evaluators and datasets, and their look-ups (§3.6)."""

from __future__ import annotations

from reconciler.emulator.adaline.catalogue import (
    DATASETS_BY_ID,
    EVALUATORS_BY_ID,
    PROJECT_ID,
    PROMPTS_BY_ID,
    Evaluator,
    Prompt,
    dataset_json,
    evaluator_json,
)
from reconciler.emulator.adaline.envelope import check_id, invalid, not_found
from reconciler.emulator.adaline.paging import SORTS, Pager, created_range, in_range
from reconciler.emulator.http import Response
from reconciler.emulator.routing import Call


def find_prompt(prompt_id: str, **other_ids: str) -> Prompt:
    """Validate the path ids (400) first, then find the prompt (404, §10.5)."""
    check_id("promptId", prompt_id)
    for field, value in other_ids.items():
        check_id(field, value)
    prompt = PROMPTS_BY_ID.get(prompt_id)
    if prompt is None:
        raise not_found("Prompt")
    return prompt


def find_evaluator(prompt: Prompt, evaluator_id: str) -> Evaluator:
    """Return the prompt's evaluator, or 404."""
    evaluator = EVALUATORS_BY_ID.get(evaluator_id)
    if evaluator is None or evaluator.prompt_id != prompt.id:
        raise not_found("Evaluator")
    return evaluator


def get_dataset(call: Call) -> Response:
    """Answer GET /v2/datasets/{datasetId}."""
    dataset = DATASETS_BY_ID.get(check_id("datasetId", call.params["datasetId"]))
    if dataset is None:
        raise not_found("Dataset")
    return Response(200, dataset_json(dataset, True))


def get_evaluator(call: Call) -> Response:
    """Answer GET /v2/prompts/{promptId}/evaluators/{evaluatorId}."""
    evaluator_id = call.params["evaluatorId"]
    prompt = find_prompt(call.params["promptId"], evaluatorId=evaluator_id)
    return Response(200, evaluator_json(find_evaluator(prompt, evaluator_id), True))


def list_evaluators(call: Call) -> Response:
    """Answer GET /v2/prompts/{promptId}/evaluators."""
    prompt, query = find_prompt(call.params["promptId"]), call.request.query
    after, before = created_range(query)
    pager = Pager(query, ("evaluators", prompt.id, after, before), SORTS)
    items = [
        evaluator_json(e, False)
        for e in EVALUATORS_BY_ID.values()
        if e.prompt_id == prompt.id and in_range(e.created_at, after, before)
    ]
    page, pagination = pager.page(items, lambda i: (i["createdAt"], i["id"]))
    return Response(200, {"evaluators": page, "pagination": pagination})


def list_datasets(call: Call) -> Response:
    """Answer GET /v2/datasets."""
    query = call.request.query
    project = query.get("projectId")
    if project is None:
        raise invalid("projectId", "is required")
    check_id("projectId", project)
    after, before = created_range(query)
    pager = Pager(query, ("datasets", project, after, before), SORTS)
    if project != PROJECT_ID:
        raise not_found("Project")
    items = [
        dataset_json(d, False)
        for d in DATASETS_BY_ID.values()
        if d.project_id == project and in_range(d.created_at, after, before)
    ]
    page, pagination = pager.page(items, lambda i: (i["createdAt"], i["id"]))
    return Response(200, {"datasets": page, "pagination": pagination})
