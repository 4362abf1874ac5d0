"""Reading a large manifest file holds one document at a time, beside the resources it returns.

`apply` of 10,000 resources from one file peaked at 201 MiB, 150 of them the whole file's YAML
nodes and documents alive at once (docs/performance.md, "Memory (third round)").
"""

from __future__ import annotations

import tracemalloc

from reconciler.manifest import parse_manifest

AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"


def manifest(count: int) -> str:
    return "---\n".join(
        f"apiVersion: reconciler/v1\nkind: BlandEvalRun\nmetadata: {{name: run-{i:05d}}}\n"
        f"spec:\n  call_ids: [a1b2c3d4-0000-4000-8000-{i + 1:012d}]\n"
        f"  attached_agents: [{{eval_agent_id: {AGENT}}}]\n"
        for i in range(count)
    )


def transient_bytes(text: str) -> tuple[int, int]:
    """Return (resources read, bytes allocated beyond what is kept) for parsing `text`."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        resources, problems = parse_manifest(text, "evals/runs.yaml", environ={})
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [] == problems
    return len(resources), peak - kept


def test_the_memory_beyond_the_resources_does_not_grow_with_the_documents():
    """1,000 documents need no more passing memory than 100 do (before: ten times as much)."""
    parse_manifest(manifest(2), "warm.yaml", environ={})  # imports and caches, once
    small, small_transient = transient_bytes(manifest(100))
    large, large_transient = transient_bytes(manifest(1000))
    assert (100, 1000) == (small, large)
    assert large_transient < 2 * small_transient + 512 * 1024, (small_transient, large_transient)
