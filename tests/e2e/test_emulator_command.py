"""`reconciler emulator` as a user runs it: a process serving the vendor API on a port."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx


def test_the_emulator_command_serves_the_bland_api_until_stopped(tmp_path):
    """Started on port 0, it prints its URL, answers, keeps state in --state, and stops."""
    state = tmp_path / "state.sqlite3"
    command = [sys.executable, "-m", "reconciler.cli", "emulator", "--port", "0"]
    process = subprocess.Popen([*command, "--state", str(state)], stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        url = re.search(r"http://[\d.]+:\d+", first)
        assert url, first
        headers = {"authorization": "demo"}
        status = httpx.get(f"{url.group(0)}/v1/evals/status", headers=headers, timeout=10)
        assert 200 == status.status_code
        assert status.json()["data"]["enabled"] is True
        body = {
            "call_ids": ["a1b2c3d4-0000-4000-8000-000000000001"],
            "attached_agents": [{"eval_agent_id": "11111111-aaaa-4bbb-8ccc-000000000001"}],
        }
        created = httpx.post(f"{url.group(0)}/v1/evals/runs", json=body, headers=headers)
        assert 202 == created.status_code
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
    assert state.exists()
