"""The emulator's seed catalogue: the Bland eval agents, versions, setups and calls it knows.

Every organisation (API key) sees the same catalogue, so `examples/` works for anyone.
Ids are fixed and documented in docs/emulator.md; unknown ids get Bland's not-found answer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent:
    """An eval agent (a judge) with its published version, if any."""

    id: str
    key: str
    modality: str  # text | audio
    published_version_id: str | None
    draft_version_id: str
    levels: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Setup:
    """A workbench setup with one published version and its roster."""

    id: str
    version_id: str
    agent_ids: tuple[str, ...]
    run_mode: str
    pass_threshold_pct: float | None


def _agent(n: int, key: str, modality: str, *, published: bool = True) -> Agent:
    return Agent(
        id=f"11111111-aaaa-4bbb-8ccc-{n:012d}",
        key=key,
        modality=modality,
        published_version_id=f"22222222-aaaa-4bbb-8ccc-{n:012d}" if published else None,
        draft_version_id=f"22222222-dddd-4bbb-8ccc-{n:012d}",
        levels=("pass", "partial", "fail"),
    )


AGENTS: dict[str, Agent] = {
    a.id: a
    for a in (
        _agent(1, "resolution-judge", "text"),
        _agent(2, "tone-judge", "text"),
        _agent(3, "voice-quality-judge", "audio"),
        _agent(4, "compliance-judge", "text"),
        _agent(5, "draft-judge", "text", published=False),
    )
}

VERSIONS: dict[str, str] = {}  # version id -> agent id
for _a in AGENTS.values():
    VERSIONS[_a.draft_version_id] = _a.id
    if _a.published_version_id:
        VERSIONS[_a.published_version_id] = _a.id

SETUPS: dict[str, Setup] = {
    s.id: s
    for s in (
        Setup(
            id="33333333-aaaa-4bbb-8ccc-000000000001",
            version_id="44444444-aaaa-4bbb-8ccc-000000000001",
            agent_ids=(AGENTS["11111111-aaaa-4bbb-8ccc-000000000001"].id,),
            run_mode="text",
            pass_threshold_pct=80,
        ),
    )
}

CALL_COUNT = 5000


def call_id(n: int) -> str:
    """Return the id of seeded call `n` (1..CALL_COUNT)."""
    return f"a1b2c3d4-0000-4000-8000-{n:012d}"


CALL_PREFIX = "a1b2c3d4-0000-4000-8000-"


def call_exists(value: str) -> bool:
    """Say whether `value` is one of the seeded calls."""
    if not value.startswith(CALL_PREFIX):
        return False
    digits = value[len(CALL_PREFIX) :]
    return len(digits) == 12 and digits.isdigit() and 1 <= int(digits) <= CALL_COUNT
