"""apply at the edges, through the CLI against the emulator: hostile answers, logs, secrets.

A tiny proxy started inside a test stands between reconciler and the emulator when the
emulator cannot give the hostile answer itself: it forwards every request, except the ones
the test picks, which it answers as a broken vendor would.
"""

from __future__ import annotations

import json
import re
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parents[2]
PLAN_SCHEMA = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
API_KEY = "sk-canary-edges-apply-0b7d41"
AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
CALLS = [f"a1b2c3d4-0000-4000-8000-{n:012d}" for n in range(1, 9)]

# (status, content type, body) a broken vendor answers a create with
Answer = tuple[int, str, bytes]
Hostile = Callable[[str, str, bytes], Answer | None]  # method, path, body -> answer or forward


class _Proxy(BaseHTTPRequestHandler):
    """Forward to the emulator, unless `hostile` answers the request itself."""

    upstream: str
    hostile: Hostile

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = type(self).hostile(self.command, self.path, body)
        if answer is None:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            upstream = httpx.request(
                self.command, type(self).upstream + self.path, headers=headers, content=body
            )
            answer = (
                upstream.status_code,
                upstream.headers.get("content-type", "application/json"),
                upstream.content,
            )
        status, content_type, content = answer
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def hostile_proxy() -> Iterator[Callable[[str, Hostile], str]]:
    """Start proxies to an emulator URL that answer what `hostile` picks; return their URLs."""
    servers: list[ThreadingHTTPServer] = []

    def start(upstream: str, hostile: Hostile) -> str:
        handler = type("Proxy", (_Proxy,), {"upstream": upstream, "hostile": staticmethod(hostile)})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@dataclass
class Project:
    """A user's repository with Bland resources, and the CLI run inside it."""

    root: Path
    base_url: str
    env: dict[str, str] = field(default_factory=lambda: {"BLAND_API_KEY": API_KEY})

    def configure(self) -> None:
        (self.root / "reconciler.yaml").write_text(
            textwrap.dedent(
                f"""\
                workspace: edges
                manifests: ["evals/*.yaml"]
                providers:
                  bland: {{api_key: "${{BLAND_API_KEY}}", base_url: "{self.base_url}"}}
                """
            )
        )

    def declare(self, name: str, *, calls: int = 2, extra: str = "") -> None:
        evals = self.root / "evals"
        evals.mkdir(exist_ok=True)
        call_lines = "\n".join(f"    - {c}" for c in CALLS[:calls])
        (evals / f"{name}.yaml").write_text(
            f"apiVersion: reconciler/v1\nkind: BlandEvalRun\nmetadata:\n  name: {name}\n"
            f"spec:\n  call_ids:\n{call_lines}\n  attached_agents:\n"
            f"    - eval_agent_id: {AGENT}\n" + extra
        )

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(cli, ["-C", str(self.root), *args], env=self.env)


def runs_at_vendor(base_url: str) -> list[dict]:
    """List every Bland run the emulator holds, as the vendor sees them."""
    page = httpx.get(
        f"{base_url}/v1/evals/runs", params={"limit": 100}, headers={"authorization": API_KEY}
    )
    return page.json()["data"]["data"]


def _creates_of(address: str) -> Callable[[str, str, bytes], bool]:
    def matches(method: str, path: str, body: bytes) -> bool:
        if method != "POST" or path.split("?")[0] != "/v1/evals/runs" or not body:
            return False
        return json.loads(body).get("metadata", {}).get("reconciler.address") == address

    return matches


# Vendor messages with the characters a log line must survive: quotes, `=`, `\`, a newline.
NASTY = 'the "vendor" broke: limit=0 at C:\\evals\nsecond line'
HOSTILE: dict[str, Answer] = {
    "no-run-in-the-data": (200, "application/json", b'{"data": {}, "errors": null}'),
    "html-instead-of-json": (200, "text/html", b"<html><body>Bad gateway</body></html>"),
    "error-envelope": (
        422,
        "application/json",
        json.dumps({"data": None, "errors": [{"error": "BROKEN", "message": NASTY}]}).encode(),
    ),
}


def _is_create_of(address: str, method: str, path: str, body: bytes) -> bool:
    if method != "POST" or path.split("?")[0] != "/v1/evals/runs" or not body:
        return False
    return json.loads(body).get("metadata", {}).get("reconciler.address") == address


def _is_cancel(method: str, path: str) -> bool:
    return method == "POST" and path.split("?")[0].endswith("/cancellations")


@dataclass
class BrokenVendor:
    """A project whose vendor breaks, on the second apply, one create and every cancel."""

    project: Project
    upstream: str
    answer: Answer
    broken: bool = False

    def hostile(self, method: str, path: str, body: bytes) -> Answer | None:
        if not self.broken:
            return None
        if _is_create_of("BlandEvalRun/refunds-weekly", method, path, body):
            return self.answer
        return self.answer if _is_cancel(method, path) else None

    def second_apply(self) -> Result:
        """Apply once as is; then change one spec, add two resources, break, apply again."""
        first = self.project.run("apply", "--auto-approve")
        assert 0 == first.exit_code, first.output
        self.project.declare("checkout-nightly", calls=4)  # a replace whose cancel breaks
        self.project.declare("smoke")  # a create that works
        self.project.declare("refunds-weekly", calls=3)  # a create that breaks
        self.broken = True
        return self.project.run("apply", "--auto-approve")


@pytest.fixture(params=HOSTILE.values(), ids=HOSTILE.keys())
def broken_vendor(request, tmp_path, start_emulator, hostile_proxy) -> BrokenVendor:
    upstream = start_emulator(seed=7)
    vendor = BrokenVendor(Project(root=tmp_path, base_url=""), upstream, request.param)
    vendor.project.base_url = hostile_proxy(upstream, vendor.hostile)
    vendor.project.configure()
    vendor.project.declare("checkout-nightly")
    return vendor


class TestHostileAnswers:
    """Actions meet hostile vendor answers: what did happen is printed, and the exit code is 1."""

    def test_the_summary_and_every_run_that_was_made_are_reported(self, broken_vendor):
        """The summary prints; the replace whose cancel failed names the run it did create."""
        result = broken_vendor.second_apply()

        assert 1 == result.exit_code, result.output
        assert "internal error" not in result.stderr
        assert "Traceback" not in result.output
        assert "Apply complete: 1 created, 0 cancelled, 0 replaced, 2 failed." in result.stdout
        made = {
            r["metadata"]["reconciler.address"]: r["id"]
            for r in reversed(runs_at_vendor(broken_vendor.upstream))  # oldest first
            if r["metadata"].get("reconciler.spec-hash")
        }
        assert {"BlandEvalRun/checkout-nightly", "BlandEvalRun/smoke"} == set(made)
        failed = sorted(line for line in result.stderr.splitlines() if line.startswith("Failed:"))
        assert 2 == len(failed), result.stderr
        assert failed[0].startswith("Failed: create BlandEvalRun/refunds-weekly: "), failed
        replaced = "Failed: replace BlandEvalRun/checkout-nightly: created run "
        assert failed[1].startswith(replaced + made["BlandEvalRun/checkout-nightly"]), failed
        assert "but cancelling the stale run" in failed[1]
        logged = dict(
            re.findall(
                r"^apply address=(\S+) action=\w+ vendor=bland run=(\S+)", result.stderr, re.M
            )
        )
        assert made["BlandEvalRun/checkout-nightly"] == logged["BlandEvalRun/checkout-nightly"]
        assert made["BlandEvalRun/smoke"] == logged["BlandEvalRun/smoke"]


# --- logfmt ----------------------------------------------------------------------------------

_PAIR = re.compile(
    r'([A-Za-z_][A-Za-z0-9_.]*)=(?:"((?:[^"\\\x00-\x1f]|\\["\\nrt]|\\u[0-9a-f]{4})*)"|([^\s="\\\x00-\x1f]+))'
)


def parse_logfmt(line: str) -> dict[str, str]:
    """Parse one logfmt line strictly: `key=value` pairs separated by one space, nothing else.

    A bare value holds no space, `=`, `"`, `\\` or control character; a quoted one may hold
    anything but a raw `"`, `\\` or control character, which must be escaped. Keys are unique.
    """
    pairs: dict[str, str] = {}
    at = 0
    while at < len(line):
        if pairs:
            assert line[at] == " ", f"expected one space at {at}: {line!r}"
            at += 1
        found = _PAIR.match(line, at)
        assert found, f"not logfmt at {at}: {line!r}"
        key, quoted, bare = found.groups()
        assert key not in pairs, f"{key} twice: {line!r}"
        pairs[key] = bare if bare is not None else json.loads(f'"{quoted}"')
        at = found.end()
    return pairs


class TestLogfmt:
    def test_every_apply_log_line_is_valid_logfmt(self, broken_vendor):
        """Each action's line parses, and a vendor's message comes back exactly as it was."""
        result = broken_vendor.second_apply()
        lines = [line for line in result.stderr.splitlines() if line.startswith("apply ")]
        assert 3 == len(lines), result.stderr
        parsed = [parse_logfmt(line.removeprefix("apply ")) for line in lines]
        assert {
            "BlandEvalRun/checkout-nightly",
            "BlandEvalRun/smoke",
            "BlandEvalRun/refunds-weekly",
        } == {p["address"] for p in parsed}
        for pairs in parsed:
            assert {"address", "action", "vendor", "run", "outcome", "duration_ms"} <= set(pairs)
        if broken_vendor.answer[0] == 422:
            errors = [p["error"] for p in parsed if "error" in p]
            assert 2 == len(errors)
            # A vendor's message reaches the log as one line: its newline became a space.
            assert all(NASTY.replace("\n", " ") in e for e in errors), errors


# --- values from ${ENV} ----------------------------------------------------------------------

OLD_SECRET, NEW_SECRET = "dataset-old-5e1f9c", "dataset-new-a7d203"


class TestValuesFromTheEnvironment:
    def test_a_trigger_from_the_environment_is_masked_in_text_json_and_the_plan_file(
        self, tmp_path, start_emulator
    ):
        """The trigger changed, so the run is replaced; neither value shows anywhere."""
        project = Project(root=tmp_path / "repo", base_url=start_emulator(seed=7))
        project.root.mkdir()
        project.configure()
        project.declare("nightly", extra='lifecycle:\n  triggers: {dataset: "${DATASET}"}\n')
        project.env["DATASET"] = OLD_SECRET
        first = project.run("apply", "--auto-approve")
        assert 0 == first.exit_code, first.output

        project.env["DATASET"] = NEW_SECRET
        text = project.run("plan")
        document = project.run("plan", "--format", "json")
        plan_file = tmp_path / "plan.json"
        saved = project.run("plan", "-out", str(plan_file))

        assert [0, 0, 0] == [r.exit_code for r in (text, document, saved)], text.output
        assert "~ lifecycle.triggers.dataset = (sensitive)" in text.stdout
        (change,) = json.loads(document.stdout)["changes"]
        assert ("replace", "changed") == (change["action"], change["changed"][0]["change"])
        assert [("lifecycle.triggers.dataset", "(sensitive)")] == [
            (d["path"], d["new"]) for d in change["changed"]
        ]
        shown = [text.output, document.output, saved.output, plan_file.read_text()]
        for secret in (OLD_SECRET, NEW_SECRET):
            assert [] == [n for n, out in enumerate(shown) if secret in out]
