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
from reconciler.model import Vendor
from reconciler.providers.config import ProviderConfig
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


class FakeTime:
    """A monotonic clock that moves only when something sleeps on it; sleeps are recorded."""

    def __init__(self, sleeps: list[float] | None = None) -> None:
        self.now = 1000.0
        self.sleeps = sleeps if sleeps is not None else []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client(
    url: str,
    *,
    retries: int = 3,
    sleeps: list[float] | None = None,
    rps: float | None = None,
    time: FakeTime | None = None,
) -> httpx.Client:
    fake = time or FakeTime(sleeps)
    transport = RetryTransport(
        httpx.HTTPTransport(),
        policy=RetryPolicy(max_retries=retries, base_delay_s=0.01, max_delay_s=0.05),
        limiter=RateLimiter(rps, clock=fake.clock, sleep=fake.sleep),
        max_concurrency=4,
        clock=fake.clock,
        sleep=fake.sleep,
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


TOO_MANY = (429, {}, {"data": None, "errors": [{"error": "RATE_LIMITED", "message": "slow"}]})


def sends(limiter: RateLimiter, count: int) -> list[float]:
    """Send `count` requests through `limiter`, each answered at once without a 429."""
    moments = []
    for _ in range(count):
        moments.append(limiter.acquire())
        limiter.speed_up()
    return moments


class TestPacing:
    """AIMD pacing on the injected clock: never wall time."""

    def test_a_vendor_that_publishes_no_limit_is_not_capped_by_default(self):
        """Bland and Arize: no default cap, so 100 requests go without a wait."""
        for vendor in (Vendor.BLAND, Vendor.ARIZE):
            assert ProviderConfig.from_block(vendor, {}).requests_per_second is None
        fake = FakeTime()
        limiter = RateLimiter(None, clock=fake.clock, sleep=fake.sleep)
        sends(limiter, 100)
        assert [] == fake.sleeps

    def test_a_vendor_that_publishes_a_limit_starts_at_it(self):
        """Adaline publishes 6,000 a minute: 101 requests take one second, not less."""
        cap = ProviderConfig.from_block(Vendor.ADALINE, {}).requests_per_second
        assert 100 == cap
        fake = FakeTime()
        moments = sends(RateLimiter(cap, clock=fake.clock, sleep=fake.sleep), 101)
        assert moments[-1] - moments[0] == pytest.approx(1.0)

    def test_a_429_halves_the_pace_then_answers_regain_it_step_by_step(self):
        """10/s, a 429: 5/s; each answer without a 429 adds STEP/pace, back up to the cap."""
        fake = FakeTime()
        limiter = RateLimiter(10, clock=fake.clock, sleep=fake.sleep)
        sent = limiter.acquire()
        limiter.slow_down(sent)
        assert 5 == limiter.rate
        limiter.speed_up()
        assert limiter.rate == pytest.approx(5 + RateLimiter.STEP / 5)
        sends(limiter, 50)
        assert 10 == limiter.rate  # regained, and never above the cap

    def test_a_429_with_no_pace_yet_halves_the_rate_actually_sent(self):
        """Unpaced, 40 requests in the last second then a 429: the pace becomes 20/s."""
        fake = FakeTime()
        limiter = RateLimiter(None, clock=fake.clock, sleep=fake.sleep)
        for _ in range(40):
            sent = limiter.acquire()
            fake.now += 0.02
        limiter.slow_down(sent)
        assert 20 == limiter.rate
        first, second = limiter.acquire(), limiter.acquire()
        assert second - first == pytest.approx(1 / 20)

    def test_a_burst_of_429s_to_requests_sent_together_halves_the_pace_once(self):
        """Eight requests in flight all answered 429 halve the pace once, not eight times."""
        fake = FakeTime()
        limiter = RateLimiter(64, clock=fake.clock, sleep=fake.sleep)
        in_flight = [limiter.acquire() for _ in range(8)]
        for sent in in_flight:
            limiter.slow_down(sent)
        assert 32 == limiter.rate
        limiter.slow_down(limiter.acquire())  # sent at the new pace, still too fast
        assert 16 == limiter.rate

    def test_retry_after_holds_every_request_until_then(self):
        """A 429 with Retry-After: 3 holds the next request of any thread 3 s."""
        fake = FakeTime()
        limiter = RateLimiter(None, clock=fake.clock, sleep=fake.sleep)
        sent = limiter.acquire()
        limiter.slow_down(sent, retry_after=3.0)
        assert limiter.acquire() == pytest.approx(sent + 3.0)

    def test_requests_per_second_is_a_hard_cap_however_long_no_429_comes(self):
        """A cap of 20/s: 1,001 answers without a 429 still take 50 s, never less."""
        fake = FakeTime()
        moments = sends(RateLimiter(20, clock=fake.clock, sleep=fake.sleep), 1001)
        assert moments[-1] - moments[0] == pytest.approx(50.0)

    def test_a_vendor_answering_429_slows_every_later_request_over_http(self, scripted):
        """Over loopback: 429, then 200s. The retry and the requests after it go at half pace."""
        script = Script(TOO_MANY, OK)
        fake = FakeTime()
        with client(scripted(script), rps=10, time=fake) as c:
            c.get("/x")  # 429, retried after a backoff, then 200
            before = fake.now
            c.get("/y")
            c.get("/z")
        # /y waits out the retry's 1/5 s (sent at 5/s); /z goes 1/6 s after /y (one answer
        # without a 429 since: 5 + STEP/5). At the fixed pace of old both took 0.2 s.
        assert fake.now - before == pytest.approx(1 / 5 + 1 / (5 + RateLimiter.STEP / 5))
