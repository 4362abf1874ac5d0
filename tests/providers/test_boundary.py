"""The HTTP boundary: whatever httpx raises or a vendor sends, callers get a ProviderError.

As httpx's own tests/test_exceptions.py checks that every httpcore exception has a mapping,
this walks every exception class httpx exports and raises it from a transport under our client.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from reconciler.errors import (
    ConflictError,
    NotFoundError,
    ProviderError,
    TransientProviderError,
)
from reconciler.providers.http import JsonClient, SecretHeaderAuth, check_response
from reconciler.secret import Secret
from reconciler.vendors.registry import VENDORS

KEY = "sk-boundary-canary-3141"

EXCEPTIONS = sorted(
    (
        getattr(httpx, name)
        for name in httpx.__all__
        if isinstance(getattr(httpx, name), type) and issubclass(getattr(httpx, name), Exception)
    ),
    key=lambda kind: kind.__name__,
)
TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def make(kind: type[Exception], request: httpx.Request) -> Exception:
    """Build an instance of `kind` the way httpx itself would, its text quoting the key."""
    text = f"Illegal header value b'{KEY}'"
    if issubclass(kind, httpx.HTTPStatusError):
        return kind(text, request=request, response=httpx.Response(500, request=request))
    if issubclass(kind, httpx.RequestError):
        return kind(text, request=request)
    try:
        return kind(text)
    except TypeError:  # StreamConsumed() and its siblings carry their own text
        return kind()


def client_raising(kind: type[Exception]) -> JsonClient:
    def handler(request: httpx.Request) -> httpx.Response:
        raise make(kind, request)

    return JsonClient(
        vendor="bland",
        base_url="http://vendor.invalid",
        auth=SecretHeaderAuth("authorization", Secret(KEY)),
        timeout_s=5,
        max_retries=0,
        max_concurrency=1,
        requests_per_second=None,
        transport=httpx.MockTransport(handler),
    )


def test_the_walk_finds_every_family_httpx_exports():
    """A guard on the walk itself: the classes issue #10 names are all in it."""
    names = {kind.__name__ for kind in EXCEPTIONS}
    assert {
        "InvalidURL",
        "LocalProtocolError",
        "DecodingError",
        "TooManyRedirects",
        "UnsupportedProtocol",
        "ProxyError",
        "StreamError",
        "CookieConflict",
        "ReadTimeout",
        "HTTPStatusError",
    } <= names


@pytest.mark.parametrize("kind", EXCEPTIONS, ids=lambda kind: kind.__name__)
def test_every_httpx_exception_becomes_a_provider_error_naming_vendor_and_operation(kind):
    """Chained with `from`, scrubbed of the key, transient only when a retry could help."""
    client = client_raising(kind)
    with pytest.raises(ProviderError) as caught:
        client.request("GET", "/v1/evals/runs", operation="list runs")
    error = caught.value
    assert str(error).startswith("bland: list runs failed: ")
    assert kind.__name__ in str(error)
    assert KEY not in str(error)
    assert isinstance(error.__cause__, kind)
    assert issubclass(kind, TRANSIENT) == isinstance(error, TransientProviderError)


class Hostile:
    """A vendor on loopback that answers every request with one fixed status and body."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        answer = (status, body, headers or {})

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                code, payload, extra = answer
                self.send_response(code)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile() -> Iterator[type[Hostile]]:
    servers: list[Hostile] = []

    def start(*args: object, **kwargs: object) -> Hostile:
        server = Hostile(*args, **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()


def loopback_client(url: str, key: str = KEY) -> JsonClient:
    return JsonClient(
        vendor="bland",
        base_url=url,
        auth=SecretHeaderAuth("authorization", Secret(key)),
        timeout_s=5,
        max_retries=0,
        max_concurrency=1,
        requests_per_second=None,
    )


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>maintenance</html>", "the answer is not JSON"),
        (DEEP, "the answer is JSON nested too deeply to read"),
        (b"\xff\xfe\x00garbage", "the answer is not JSON"),
    ],
    ids=["html", "very-deep-json", "not-utf8"],
)
def test_a_success_body_that_cannot_be_read_is_a_provider_error(hostile, body, message):
    """HTTP 200 with HTML or JSON nested 100,000 deep: an error naming vendor and operation."""
    server = hostile(200, body, {"content-type": "application/json"})
    client = loopback_client(server.url)
    with pytest.raises(ProviderError) as caught:
        client.request("GET", "/v1/evals/runs", operation="list runs")
    client.close()
    assert f"bland: list runs failed (HTTP 200): {message}" == str(caught.value)


def test_a_very_deep_error_body_still_gives_one_line(hostile):
    """A 400 whose body is JSON nested 100,000 deep: the error is the raw text, truncated."""
    server = hostile(400, DEEP)
    client = loopback_client(server.url)
    with pytest.raises(ProviderError, match=r"^bland: list runs failed \(HTTP 400\): \[\[\["):
        client.request("GET", "/v1/evals/runs", operation="list runs")
    client.close()


def test_an_illegal_key_is_refused_by_httpx_without_showing_it(hostile):
    """A key with a newline: httpx's LocalProtocolError quotes it; our error shows ***."""
    key = "sk-newline-canary\nX-Injected: 1"
    server = hostile(200, b"{}")
    client = loopback_client(server.url, key)
    with pytest.raises(ProviderError) as caught:
        client.request("GET", "/v1/evals/runs", operation="list runs")
    client.close()
    text = str(caught.value)
    assert text.startswith("bland: list runs failed: the request could not be sent")
    assert "sk-newline-canary" not in text
    assert "***" in text


@pytest.mark.parametrize(
    ("status", "conflict", "expected"),
    [
        (409, frozenset({409}), ConflictError),
        (400, frozenset({400, 409}), ConflictError),
        (400, frozenset({409}), ProviderError),
        (404, frozenset({409}), NotFoundError),
        (429, frozenset(range(400, 500)), TransientProviderError),
    ],
    ids=["409-conflict", "400-meant-as-conflict", "400-plain", "404-not-found", "429-transient"],
)
def test_the_error_class_is_chosen_where_the_answer_is_checked(status, conflict, expected):
    """Callers act on the class, never on `error.status`; a vendor may mean 400 as a conflict."""
    response = httpx.Response(status, json={"message": "no"})
    with pytest.raises(ProviderError) as caught:
        check_response(response, vendor="bland", operation="cancel run", conflict=conflict)
    assert (expected, status) == (type(caught.value), caught.value.status)


@pytest.mark.parametrize("vendor", [vendor.value for vendor in VENDORS])
@pytest.mark.parametrize("status", [401, 403])
def test_the_auth_hint_names_the_vendors_own_field(vendor, status):
    """Not `providers.<vendor>.api_key`: the field to edit, e.g. providers.arize.api_key."""
    response = httpx.Response(status, json={"message": "unauthorized"})
    with pytest.raises(ProviderError) as caught:
        check_response(response, vendor=vendor, operation="list runs")
    assert str(caught.value).endswith(f"Check the API key (providers.{vendor}.api_key)")


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"errors": [{"error": "AUTH", "message": f"bad header authorization: {KEY}"}]}),
        json.dumps({"detail": f"got {json.dumps(KEY + chr(10))}"}),
        f"<pre>authorization: {KEY}</pre>",
    ],
    ids=["envelope", "json-escaped", "text"],
)
def test_a_vendor_echoing_the_key_gets_it_masked(body):
    """Whatever envelope the echo comes in, the error says *** where the key was."""
    Secret(KEY)
    response = httpx.Response(400, content=body.encode(), headers={"x-request-id": KEY})
    with pytest.raises(ProviderError) as caught:
        check_response(response, vendor="bland", operation="list runs")
    assert KEY not in str(caught.value)
    assert KEY not in caught.value.detail
    assert "***" in str(caught.value)
