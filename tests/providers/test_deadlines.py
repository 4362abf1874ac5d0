"""Deadlines are deadlines: a whole request, a retry budget, a caller's deadline.

Trickling servers are real sockets on loopback; retry and pacing tests inject the clock and the
sleep, so nothing here asserts on wall time.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from reconciler.errors import OutOfTimeError, TransientProviderError
from reconciler.providers.deadline import deadline
from reconciler.providers.http import (
    JsonClient,
    RateLimiter,
    RetryPolicy,
    RetryTransport,
    SecretHeaderAuth,
    check_response,
)
from reconciler.secret import Secret

BODY = b'{"data": {"data": [], "has_more": false}, "errors": null}'
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"


class Trickle:
    """A server that answers every request one byte at a time, and counts what it sent."""

    def __init__(self, *, gap_s: float, fast_head: bool) -> None:
        self.gap_s = gap_s
        self.fast_head = fast_head
        self.sent = 0
        self.answer = HEAD % len(BODY) + BODY
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            head = len(HEAD % len(BODY)) if self.fast_head else 0
            try:
                if head:
                    conn.sendall(self.answer[:head])
                for i in range(head, len(self.answer)):
                    if self._stop.wait(self.gap_s):
                        return
                    conn.sendall(self.answer[i : i + 1])
                    self.sent += 1
            except OSError:
                return  # the client hung up: what a deadline is for

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


@pytest.fixture
def trickle() -> Iterator[type[Trickle]]:
    servers: list[Trickle] = []

    def start(**options: object) -> Trickle:
        server = Trickle(**options)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()


def json_client(url: str, *, timeout_s: float, max_retries: int = 0) -> JsonClient:
    return JsonClient(
        vendor="bland",
        base_url=url,
        auth=SecretHeaderAuth("authorization", Secret("sk-deadline-canary")),
        timeout_s=timeout_s,
        max_retries=max_retries,
        max_concurrency=2,
        requests_per_second=None,
    )


class TestAWholeRequestIsBoundedByTimeoutS:
    @pytest.mark.parametrize("fast_head", [False, True], ids=["whole-answer", "body-only"])
    def test_a_server_that_trickles_one_byte_at_a_time_fails_the_request(self, trickle, fast_head):
        """Each byte comes well inside httpx's per-read timeout; the whole answer never does."""
        server = trickle(gap_s=0.1, fast_head=fast_head)
        client = json_client(server.url, timeout_s=1)
        with pytest.raises(TransientProviderError) as caught:
            client.request("GET", "/v1/evals/runs", operation="list runs")
        client.close()
        assert str(caught.value).startswith("bland: list runs failed: timed out (ReadTimeout: ")
        assert "no complete answer within timeout_s (1 s)" in str(caught.value)
        # At 10 bytes a second a 1 s limit lets ~10 through; without one all would be read.
        assert server.sent < len(server.answer) // 2

    def test_a_fast_answer_is_unaffected(self, trickle):
        """The limit is on the whole request, so an answer that comes in time is read whole."""
        server = trickle(gap_s=0.0, fast_head=True)
        client = json_client(server.url, timeout_s=5)
        assert {"data": {"data": [], "has_more": False}, "errors": None} == client.request(
            "GET", "/v1/evals/runs", operation="list runs"
        )
        client.close()

    def test_a_callers_deadline_cuts_a_trickled_answer_short(self, trickle):
        """Inside deadline(): an attempt gets only what is left of it plus timeout_s."""
        server = trickle(gap_s=0.1, fast_head=False)
        client = json_client(server.url, timeout_s=30)
        with (
            deadline(time.monotonic() - 29, what="status --timeout 0"),
            pytest.raises(
                TransientProviderError,
                match=r"no complete answer within [0-9.]+ s, what was left of status --timeout 0 ",
            ),
        ):
            client.request("GET", "/v1/evals/runs", operation="list runs")
        client.close()
        assert server.sent < len(server.answer) // 2


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def answering(*answers: httpx.Response) -> httpx.MockTransport:
    todo = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        return todo.pop(0) if len(todo) > 1 else todo[0]

    return httpx.MockTransport(handler)


def rate_limited(after: str) -> httpx.Response:
    body = {"data": None, "errors": [{"error": "RATE_LIMITED", "message": "slow down"}]}
    return httpx.Response(429, headers={"retry-after": after}, json=body)


def timed_client(
    transport: httpx.BaseTransport, fake: FakeTime, *, budget_s: float = 120, retries: int = 5
) -> httpx.Client:
    return httpx.Client(
        base_url="http://vendor.invalid",
        transport=RetryTransport(
            transport,
            policy=RetryPolicy(max_retries=retries, budget_s=budget_s),
            limiter=RateLimiter(None, clock=fake.clock, sleep=fake.sleep),
            max_concurrency=2,
            timeout_s=30,
            vendor="bland",
            clock=fake.clock,
            sleep=fake.sleep,
        ),
    )


class TestTheRetryBudgetIsAWallClockDeadline:
    def test_a_retry_after_beyond_the_budget_fails_at_once_naming_the_wait(self):
        """Retry-After: 3600 against a 120 s budget: no sleep, one error that says why."""
        fake = FakeTime()
        with timed_client(answering(rate_limited("3600")), fake) as client:
            response = client.get("/v1/evals/runs")
        with pytest.raises(OutOfTimeError) as caught:
            check_response(response, vendor="bland", operation="list runs")
        assert [] == fake.sleeps
        assert (
            "bland: list runs failed (HTTP 429): RATE_LIMITED: slow down; bland asked to retry"
            " after 3600 s, more than the 120 s left of the retry budget (120 s)"
        ) == str(caught.value)

    def test_the_budget_is_checked_before_every_sleep(self):
        """Waits of 4 s in a 10 s budget: two sleeps, then the third would pass it."""
        fake = FakeTime()
        with timed_client(answering(rate_limited("4")), fake, budget_s=10) as client:
            response = client.get("/v1/evals/runs")
        assert [4.0, 4.0] == fake.sleeps
        with pytest.raises(OutOfTimeError, match="retry after 4 s, more than the 2 s left"):
            check_response(response, vendor="bland", operation="list runs")

    def test_a_retry_after_that_fits_is_honoured_in_full(self):
        """No silent cap: 90 s asked, 90 s waited, when the budget has room."""
        fake = FakeTime()
        ok = httpx.Response(200, json={"data": {}})
        with timed_client(answering(rate_limited("90"), ok), fake) as client:
            assert 200 == client.get("/v1/evals/runs").status_code
        assert [90.0] == fake.sleeps

    def test_a_callers_deadline_bounds_the_wait_and_is_named(self):
        """Inside status --timeout: the time left is the caller's, plus one timeout_s."""
        fake = FakeTime()
        with (
            deadline(time.monotonic() + 10, what="status --timeout 40"),
            timed_client(answering(rate_limited("3600")), fake) as client,
        ):
            response = client.get("/v1/evals/runs")
        with pytest.raises(OutOfTimeError) as caught:
            check_response(response, vendor="bland", operation="list runs")
        assert [] == fake.sleeps
        assert "more than the 40 s left of status --timeout 40 (+ timeout_s 30 s)" in str(
            caught.value
        )

    @pytest.mark.parametrize("after", ["nan", "inf", "-5"], ids=["nan", "infinite", "negative"])
    def test_an_unreadable_retry_after_never_breaks_the_wait(self, after):
        """A nonsense header falls back to backoff (or no wait), never a crash."""
        fake = FakeTime()
        ok = httpx.Response(200, json={"data": {}})
        with timed_client(answering(rate_limited(after), ok), fake) as client:
            assert 200 == client.get("/v1/evals/runs").status_code
        assert 1 == len(fake.sleeps)
        assert 0 <= fake.sleeps[0] <= 1.0


class TestPacingTakesAnInjectedClock:
    def test_the_rate_limit_spaces_requests_on_the_given_clock(self):
        """Ten acquisitions at 50/s: nine waits of 20 ms, and no real time spent."""
        fake = FakeTime()
        limiter = RateLimiter(50, clock=fake.clock, sleep=fake.sleep)
        for _ in range(10):
            limiter.acquire()
        assert [pytest.approx(0.02)] * 9 == fake.sleeps
