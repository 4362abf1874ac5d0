"""`reconciler comment` against a fake GitHub on loopback: find by marker, paginate, 403."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.render.markdown import marker

TOKEN = "ghs_comment-canary-7731"
REPO = "acme/evals"
PR = 7
PAGE_SIZE = 2  # the fake's page size, whatever per_page asks: pagination always matters
OURS = marker("prod")
BODY = f"{OURS}\n## reconciler plan: prod\n\n1 to create.\n"


@dataclass
class FakeGitHub:
    """The three endpoints `comment` uses, over an in-memory comment list."""

    url: str = ""
    comments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    deny: frozenset[str] = frozenset()  # methods answered 403
    next_id: int = 1000
    link_base: str = ""  # where next-page links point (default: the fake itself)

    def add(self, body: str) -> dict[str, Any]:
        self.next_id += 1
        comment = {
            "id": self.next_id,
            "body": body,
            "html_url": f"https://github.com/{REPO}/pull/{PR}#issuecomment-{self.next_id}",
        }
        self.comments.append(comment)
        return comment

    def seen(self, method: str) -> list[tuple[str, str, dict[str, str], Any]]:
        return [r for r in self.requests if r[0] == method]


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    lock = threading.Lock()
    list_path = re.compile(rf"/repos/{REPO}/issues/\d+/comments")
    item_prefix = f"/repos/{REPO}/issues/comments/"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            parts = urlsplit(self.path)
            with lock:
                fake.requests.append((self.command, self.path, dict(self.headers), body))
                if self.command in fake.deny:
                    self._send(403, {"message": "Resource not accessible by integration"})
                elif self.command == "GET" and list_path.fullmatch(parts.path):
                    page = int(parse_qs(parts.query).get("page", ["1"])[0])
                    start = (page - 1) * PAGE_SIZE
                    items = fake.comments[start : start + PAGE_SIZE]
                    links = {}
                    if start + PAGE_SIZE < len(fake.comments):
                        nxt = (
                            f"{fake.link_base or fake.url}{parts.path}?per_page=100&page={page + 1}"
                        )
                        first = f"{fake.url}{parts.path}?per_page=100&page=1"
                        links["Link"] = f'<{nxt}>; rel="next", <{first}>; rel="first"'
                    self._send(200, items, links)
                elif self.command == "POST" and list_path.fullmatch(parts.path):
                    self._send(201, fake.add(body["body"]))
                elif self.command == "PATCH" and parts.path.startswith(item_prefix):
                    wanted = int(parts.path.removeprefix(item_prefix))
                    for comment in fake.comments:
                        if comment["id"] == wanted:
                            comment["body"] = body["body"]
                            self._send(200, comment)
                            break
                    else:
                        self._send(404, {"message": "Not Found"})
                else:
                    self._send(404, {"message": "Not Found"})

        do_GET = do_POST = do_PATCH = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def no_github_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the GitHub Actions variables of the machine they run on."""
    for name in ("GITHUB_TOKEN", "GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_EVENT_PATH"):
        monkeypatch.delenv(name, raising=False)


def run(
    fake: FakeGitHub, *args: str, body: str = BODY, env: dict[str, str] | None = None
) -> Result:
    environ = {"GITHUB_API_URL": fake.url, "GITHUB_TOKEN": TOKEN, **(env or {})}
    return CliRunner().invoke(cli, ["comment", *args], input=body, env=environ)


def others(n: int) -> list[str]:
    return [f"comment {i} from a person" for i in range(n)]


def test_creates_a_comment_when_none_has_the_marker(github: FakeGitHub) -> None:
    for text in others(6):
        github.add(text)

    result = run(github, "--repo", REPO, "--pr", str(PR))

    assert 0 == result.exit_code, result.stderr
    assert 3 == len(github.seen("GET"))  # six comments, two a page: every page was read
    [post] = github.seen("POST")
    assert {"body": BODY} == post[3]
    assert not github.seen("PATCH")
    assert BODY == github.comments[-1]["body"]
    assert f"created {github.comments[-1]['html_url']}" == result.stdout.strip()


def test_updates_the_marked_comment_on_page_three_in_place(github: FakeGitHub) -> None:
    texts = others(7)
    texts[4] = f"{OURS}\n## the old plan\n"
    for text in texts:
        github.add(text)
    ours = github.comments[4]

    result = run(github, "--repo", REPO, "--pr", str(PR))

    assert 0 == result.exit_code, result.stderr
    assert not github.seen("POST")
    [patch] = github.seen("PATCH")
    assert f"/repos/{REPO}/issues/comments/{ours['id']}" == patch[1]
    assert 7 == len(github.comments)
    assert BODY == ours["body"]
    assert [t for i, t in enumerate(texts) if i != 4] == [
        c["body"] for i, c in enumerate(github.comments) if i != 4
    ]
    assert f"updated {ours['html_url']}" == result.stdout.strip()


def test_another_workspaces_marker_is_not_ours(github: FakeGitHub) -> None:
    github.add(f"{marker('staging')}\n## staging's plan\n")
    github.add(f"a person quoting it:\n{OURS}\n")  # the marker, but not on the first line
    for text in others(4):
        github.add(text)

    result = run(github, "--repo", REPO, "--pr", str(PR))

    assert 0 == result.exit_code, result.stderr
    assert not github.seen("PATCH")
    assert 1 == len(github.seen("POST"))
    assert github.comments[0]["body"].startswith(marker("staging"))
    assert result.stdout.startswith("created ")


def test_a_token_without_permission_gives_a_clear_message(github: FakeGitHub) -> None:
    for text in others(6):
        github.add(text)
    github.deny = frozenset({"POST", "PATCH"})

    result = run(github, "--repo", REPO, "--pr", str(PR))

    assert 1 == result.exit_code
    assert (
        f"Error: the token cannot write comments on {REPO}#{PR} (HTTP 403): give the job "
        "`pull-requests: write` (or `issues: write`)"
    ) == result.stderr.strip()
    assert TOKEN not in result.stdout
    assert TOKEN not in result.stderr
    assert "Traceback" not in result.stderr


def test_the_token_is_sent_as_a_bearer_token_with_githubs_headers(github: FakeGitHub) -> None:
    github.add(f"{OURS}\nold\n")

    result = run(github, "--repo", REPO, "--pr", str(PR))

    assert 0 == result.exit_code, result.stderr
    assert len(github.requests) >= 2
    for _, _, headers, _ in github.requests:
        lower = {k.lower(): v for k, v in headers.items()}
        assert f"Bearer {TOKEN}" == lower["authorization"]
        assert "application/vnd.github+json" == lower["accept"]
        assert "2022-11-28" == lower["x-github-api-version"]
        assert lower["user-agent"]
    [first_get, *_] = github.seen("GET")
    assert "per_page=100" in first_get[1]


def test_a_body_without_a_marker_is_refused(github: FakeGitHub) -> None:
    result = run(github, "--repo", REPO, "--pr", str(PR), body="## a plan\n\n1 to create.\n")

    assert 1 == result.exit_code
    assert "plan --format markdown" in result.stderr
    assert not github.requests


def test_the_pr_and_repo_come_from_the_github_actions_environment(
    github: FakeGitHub, tmp_path: Path
) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "opened", "pull_request": {"number": PR}}))
    comment = tmp_path / "comment.md"
    comment.write_text(BODY, encoding="utf-8")

    result = run(
        github,
        "--file",
        str(comment),
        body="",
        env={"GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_PATH": str(event)},
    )

    assert 0 == result.exit_code, result.stderr
    [post] = github.seen("POST")
    assert f"/repos/{REPO}/issues/{PR}/comments" == post[1]
    assert {"body": BODY} == post[3]


def test_an_issue_comment_event_gives_the_number_too(github: FakeGitHub, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"issue": {"number": 12, "pull_request": {"url": "x"}}}))

    result = run(github, env={"GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_PATH": str(event)})

    assert 0 == result.exit_code, result.stderr
    [post] = github.seen("POST")
    assert f"/repos/{REPO}/issues/12/comments" == post[1]


def test_without_a_pr_number_it_says_how_to_give_one(github: FakeGitHub) -> None:
    result = run(github, "--repo", REPO)

    assert 1 == result.exit_code
    assert "--pr N" in result.stderr
    assert not github.requests


def test_without_a_token_it_says_so(github: FakeGitHub) -> None:
    result = CliRunner().invoke(
        cli,
        ["comment", "--repo", REPO, "--pr", str(PR)],
        input=BODY,
        env={"GITHUB_API_URL": github.url},
    )

    assert 1 == result.exit_code
    assert "GITHUB_TOKEN is not set" in result.stderr
    assert not github.requests


def test_it_needs_no_reconciler_yaml(github: FakeGitHub, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["-C", str(tmp_path), "comment", "--repo", REPO, "--pr", str(PR)],
        input=BODY,
        env={"GITHUB_API_URL": github.url, "GITHUB_TOKEN": TOKEN},
    )

    assert 0 == result.exit_code, result.stderr


def test_a_next_link_to_another_host_is_not_followed(github: FakeGitHub) -> None:
    for text in others(3):
        github.add(text)
    github.link_base = "http://elsewhere.invalid"

    result = run(github, "--repo", REPO, "--pr", str(PR))

    assert 1 == result.exit_code
    assert "leaves" in result.stderr
    assert 1 == len(github.requests)
    assert TOKEN not in result.stderr
