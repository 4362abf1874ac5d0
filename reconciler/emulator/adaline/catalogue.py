"""Adaline's seed catalogue: the prompts, evaluators and datasets every workspace sees.

Ids are 20-80 characters (adaline.md §13.3), fixed and documented in docs/emulator.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Prompt:
    """A prompt, the scope of evaluators and evaluations."""

    id: str
    project_id: str
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluator:
    """An evaluator of one prompt, linked to exactly one dataset."""

    id: str
    prompt_id: str
    title: str
    dataset_id: str
    status: str  # active | archived
    type: str
    created_at: int  # epoch ms
    updated_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    """A dataset: its columns and how many rows it holds."""

    id: str
    project_id: str
    title: str
    icon: str
    description: str
    row_count: int
    columns: tuple[str, ...]
    created_at: int
    updated_at: int


PROJECT_ID = "project_storefront_support_0001"
_T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, ms
_DAY = 86_400_000

PROMPTS_BY_ID: dict[str, Prompt] = {
    p.id: p
    for p in (
        Prompt(
            id="prompt_checkout_assistant_0001", project_id=PROJECT_ID, title="Checkout assistant"
        ),
        Prompt(id="prompt_refund_triage_0002", project_id=PROJECT_ID, title="Refund triage"),
        Prompt(id="prompt_retired_greeting_0003", project_id=PROJECT_ID, title="Retired greeting"),
    )
}

DATASETS_BY_ID: dict[str, Dataset] = {
    d.id: d
    for d in (
        Dataset(
            id="dataset_checkout_questions_0001",
            project_id=PROJECT_ID,
            title="Checkout questions",
            icon="🛒",
            description="Shopper questions asked at checkout, with the expected answer",
            row_count=40,
            columns=("customer_message", "cart_total", "expected_answer"),
            created_at=_T0,
            updated_at=_T0 + _DAY,
        ),
        Dataset(
            id="dataset_checkout_edge_cases_0002",
            project_id=PROJECT_ID,
            title="Checkout edge cases",
            icon="🧪",
            description="Empty carts, expired coupons and currency mix-ups",
            row_count=12,
            columns=("customer_message", "cart_total", "expected_answer"),
            created_at=_T0 + 2 * _DAY,
            updated_at=_T0 + 2 * _DAY,
        ),
        Dataset(
            id="dataset_refund_requests_0003",
            project_id=PROJECT_ID,
            title="Refund requests",
            icon="💸",
            description="Refund e-mails labelled with the policy outcome",
            row_count=120,
            columns=("customer_email", "order_age_days", "expected_decision"),
            created_at=_T0 + 3 * _DAY,
            updated_at=_T0 + 5 * _DAY,
        ),
        Dataset(
            id="dataset_empty_placeholder_0004",
            project_id=PROJECT_ID,
            title="Empty placeholder",
            icon="📭",
            description="A dataset without rows",
            row_count=0,
            columns=("customer_message",),
            created_at=_T0 + 4 * _DAY,
            updated_at=_T0 + 4 * _DAY,
        ),
    )
}

EVALUATORS_BY_ID: dict[str, Evaluator] = {
    e.id: e
    for e in (
        Evaluator(
            id="evaluator_checkout_accuracy_0001",
            prompt_id="prompt_checkout_assistant_0001",
            title="Answer accuracy",
            dataset_id="dataset_checkout_questions_0001",
            status="active",
            type="llm-as-a-judge",
            created_at=_T0 + 10 * _DAY,
            updated_at=_T0 + 10 * _DAY,
        ),
        Evaluator(
            id="evaluator_checkout_latency_0002",
            prompt_id="prompt_checkout_assistant_0001",
            title="Latency under 3 s",
            dataset_id="dataset_checkout_edge_cases_0002",
            status="active",
            type="latency",
            created_at=_T0 + 11 * _DAY,
            updated_at=_T0 + 11 * _DAY,
        ),
        Evaluator(
            id="evaluator_checkout_tone_legacy_0003",
            prompt_id="prompt_checkout_assistant_0001",
            title="Tone (legacy)",
            dataset_id="dataset_checkout_questions_0001",
            status="archived",
            type="llm-as-a-judge",
            created_at=_T0 + 12 * _DAY,
            updated_at=_T0 + 20 * _DAY,
        ),
        Evaluator(
            id="evaluator_refund_policy_match_0004",
            prompt_id="prompt_refund_triage_0002",
            title="Policy decision matches",
            dataset_id="dataset_refund_requests_0003",
            status="active",
            type="text-matcher",
            created_at=_T0 + 13 * _DAY,
            updated_at=_T0 + 13 * _DAY,
        ),
        Evaluator(
            id="evaluator_refund_cost_legacy_0005",
            prompt_id="prompt_refund_triage_0002",
            title="Cost per reply (legacy)",
            dataset_id="dataset_refund_requests_0003",
            status="archived",
            type="cost",
            created_at=_T0 + 14 * _DAY,
            updated_at=_T0 + 21 * _DAY,
        ),
        Evaluator(
            id="evaluator_greeting_length_legacy_0006",
            prompt_id="prompt_retired_greeting_0003",
            title="Greeting length (legacy)",
            dataset_id="dataset_checkout_edge_cases_0002",
            status="archived",
            type="response-length",
            created_at=_T0 + 15 * _DAY,
            updated_at=_T0 + 22 * _DAY,
        ),
    )
}


def row_id(dataset_id: str, n: int) -> str:
    """Return the id of row `n` (0-based) of a dataset."""
    return f"{dataset_id}_row_{n + 1:05d}"


_SAMPLES = (
    "Can I pay with two cards?",
    "Why was my coupon rejected?",
    "Is shipping free over 50 euros?",
    "Can I change the delivery address after paying?",
    "Do you charge VAT for Norway?",
)


def row_values(dataset: Dataset, n: int) -> dict[str, object]:
    """Return the values of row `n` of a dataset (made up, fixed)."""
    values: dict[str, object] = {}
    for column in dataset.columns:
        if column.endswith(("_total", "_days")):
            values[column] = (n * 37) % 500 + 1
        elif column.startswith("expected"):
            values[column] = ("approve", "decline", "escalate")[n % 3]
        else:
            values[column] = f"{_SAMPLES[n % len(_SAMPLES)]} (#{n + 1})"
    return values


def evaluator_json(evaluator: Evaluator, full: bool) -> dict[str, Any]:
    """Return an evaluator as the API shows it (`full`: with its config)."""
    item: dict[str, Any] = {
        "id": evaluator.id,
        "promptId": evaluator.prompt_id,
        "title": evaluator.title,
        "datasetId": evaluator.dataset_id,
        "status": evaluator.status,
        "createdAt": evaluator.created_at,
        "updatedAt": evaluator.updated_at,
    }
    if full:
        item["config"] = {"type": evaluator.type}
    return item


def dataset_json(dataset: Dataset, full: bool) -> dict[str, Any]:
    """Return a dataset as the API shows it (`full`: with its columns)."""
    item: dict[str, Any] = {
        "id": dataset.id,
        "projectId": dataset.project_id,
        "title": dataset.title,
        "icon": dataset.icon,
        "description": dataset.description,
        "rowCount": dataset.row_count,
        "createdAt": dataset.created_at,
        "updatedAt": dataset.updated_at,
    }
    if full:
        item["columns"] = [{"name": c} for c in dataset.columns]
    return item
