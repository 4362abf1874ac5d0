"""The shared HTTP layer against a scripted server on loopback: retries, pacing, auth, errors."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from reconciler.errors import ProviderError, TransientProviderError
from reconciler.providers.http import (
    RateLimiter,
    RetryPolicy,
    RetryTransport,
    SecretHeaderAuth,
    build_client,
    check_response,
    retry_extension,
)
from reconciler.secret import Secret

SECRET = "sk-http-canary-5521"


class Script:
    """Answers to give, in order (the last one repeats), and the requests seen."""

    def __init__(self, *answers: tuple[int, dict[str, str], object]) -> None:
        self.answers = list(answers)
        self.seen: list[tuple[str, str, dict[str, str]]] = []


@pytest.fixture
def scripted():
    servers = []

    def start(script: Script) -> str:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                script.seen.append((self.command, self.path, dict(self.headers)))
                status, headers, body = (
                    script.answers.pop(0) if len(script.answers) > 1 else script.answers[0]
                )
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def client(url: str, *, retries: int = 3, sleeps: list[float] | None = None) -> httpx.Client:
    recorded = sleeps if sleeps is not None else []
    transport = RetryTransport(
        httpx.HTTPTransport(),
        policy=RetryPolicy(max_retries=retries, base_delay_s=0.01, max_delay_s=0.05),
        limiter=RateLimiter(None),
        max_concurrency=4,
        sleep=recorded.append,
    )
    return httpx.Client(
        base_url=url, transport=transport, auth=SecretHeaderAuth("authorization", Secret(SECRET))
    )


OK = (200, {"content-type": "application/json"}, {"data": {"ok": True}, "errors": None})
UNAVAILABLE = (503, {}, {"data": None, "errors": [{"error": "DOWN", "message": "down"}]})


class TestRetries:
    def test_a_read_is_retried_through_server_errors(self, scripted):
        """Two 503s then 200: the caller sees the 200."""
        script = Script(UNAVAILABLE, UNAVAILABLE, OK)
        with client(scripted(script)) as c:
            assert 200 == c.get("/x").status_code
        assert 3 == len(script.seen)

    def test_retry_after_in_seconds_is_honoured(self, scripted):
        """A 429 with Retry-After: 2 waits exactly 2 s before the next try."""
        sleeps: list[float] = []
        script = Script((429, {"Retry-After": "2"}, {}), OK)
        with client(scripted(script), sleeps=sleeps) as c:
            c.get("/x")
        assert [2.0] == sleeps

    def test_retry_after_as_an_http_date_is_honoured(self, scripted):
        """A Retry-After date about 3 s ahead waits about 3 s."""
        sleeps: list[float] = []
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
        script = Script((503, {"Retry-After": when}, {}), OK)
        with client(scripted(script), sleeps=sleeps) as c:
            c.get("/x")
        assert 1.0 < sleeps[0] <= 3.0

    def test_backoff_without_retry_after_is_jittered_and_capped(self, scripted):
        """Waits are within the exponential ceiling, never above max_delay_s."""
        sleeps: list[float] = []
        script = Script(UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, OK)
        with client(scripted(script), sleeps=sleeps) as c:
            c.get("/x")
        assert 3 == len(sleeps)
        assert all(0 <= s <= 0.05 for s in sleeps)

    def test_a_create_is_never_retried(self, scripted):
        """A POST without the retry mark is sent once, whatever the answer."""
        script = Script(UNAVAILABLE, OK)
        with client(scripted(script)) as c:
            assert 503 == c.post("/runs", json={}).status_code
        assert 1 == len(script.seen)

    def test_a_cancel_marked_retryable_is_retried(self, scripted):
        """A POST marked with retry_extension() is retried like a read."""
        script = Script(UNAVAILABLE, OK)
        with client(scripted(script)) as c:
            assert 200 == c.post("/cancel", extensions=retry_extension()).status_code
        assert 2 == len(script.seen)

    def test_max_retries_zero_means_one_attempt(self, scripted):
        """max_retries: 0 turns retries off."""
        script = Script(UNAVAILABLE, OK)
        with client(scripted(script), retries=0) as c:
            assert 503 == c.get("/x").status_code
        assert 1 == len(script.seen)

    def test_the_attempt_cap_holds(self, scripted):
        """A server that is always down gets 1 + max_retries requests."""
        script = Script(UNAVAILABLE)
        with client(scripted(script), retries=2) as c:
            assert 503 == c.get("/x").status_code
        assert 3 == len(script.seen)

    def test_client_errors_are_not_retried(self, scripted):
        """A 400 is the caller's mistake: retrying cannot help."""
        script = Script((400, {}, {"errors": [{"error": "BAD", "message": "bad"}]}), OK)
        with client(scripted(script)) as c:
            assert 400 == c.get("/x").status_code
        assert 1 == len(script.seen)


class TestAuthAndSecrets:
    def test_the_key_is_sent_raw_in_the_authorization_header(self, scripted):
        """Bland wants the raw key, no Bearer prefix."""
        script = Script(OK)
        with client(scripted(script)) as c:
            c.get("/x")
        assert SECRET == script.seen[0][2]["authorization"]

    def test_the_key_is_in_no_repr_of_the_client_or_its_auth(self, scripted):
        """Neither the client, its headers nor the auth object print the key."""
        url = scripted(Script(OK))
        c = build_client(
            base_url=url,
            auth=SecretHeaderAuth("authorization", Secret(SECRET)),
            timeout_s=5,
            max_retries=0,
            max_concurrency=2,
            requests_per_second=None,
        )
        with c:
            response = c.get("/x")
        assert SECRET not in repr(c.headers) + repr(c.auth) + repr(response.request.headers)

    def test_a_user_agent_names_reconciler(self, scripted):
        """Vendors can tell our traffic apart."""
        script = Script(OK)
        url = scripted(script)
        with build_client(
            base_url=url,
            auth=SecretHeaderAuth("authorization", Secret(SECRET)),
            timeout_s=5,
            max_retries=0,
            max_concurrency=2,
            requests_per_second=None,
        ) as c:
            c.get("/x")
        assert script.seen[0][2]["user-agent"].startswith("reconciler/")


class TestCheckResponse:
    def _response(self, status: int, body: object, headers: dict[str, str] | None = None):
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers=headers or {})

    def test_the_bland_envelope_gives_code_and_message(self):
        """errors[0].error and .message make the error text."""
        response = self._response(404, {"data": None, "errors": [{"error": "E", "message": "m"}]})
        with pytest.raises(ProviderError, match=r"\(HTTP 404\): E: m"):
            check_response(response, vendor="bland", operation="read run")

    def test_a_problem_json_body_gives_its_detail(self):
        """RFC 9457 bodies (Arize) use `detail`."""
        response = self._response(422, {"title": "Unprocessable", "detail": "window too long"})
        with pytest.raises(ProviderError, match="window too long"):
            check_response(response, vendor="arize", operation="trigger")

    def test_server_errors_are_transient_and_carry_retry_after(self):
        """A 503 is a TransientProviderError with the vendor's Retry-After."""
        response = self._response(503, {}, {"Retry-After": "7"})
        with pytest.raises(TransientProviderError) as caught:
            check_response(response, vendor="bland", operation="list runs")
        assert 7.0 == caught.value.retry_after

    def test_an_html_error_page_is_truncated(self):
        """A proxy's HTML page does not flood the log."""
        response = self._response(502, b"<html>" + b"x" * 5000 + b"</html>")
        with pytest.raises(TransientProviderError) as caught:
            check_response(response, vendor="bland", operation="list runs")
        assert len(str(caught.value)) < 400

    def test_a_401_says_to_check_the_key(self):
        """An auth failure points at the setting to fix."""
        response = self._response(401, {"errors": [{"error": "AUTH_FAILURE", "message": "no"}]})
        with pytest.raises(ProviderError, match="Check the API key"):
            check_response(response, vendor="bland", operation="list runs")
