"""Behind a corporate proxy: the proxy from the environment is used, retries still apply."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from reconciler.model import Vendor
from reconciler.providers.bland import BlandProvider
from reconciler.providers.config import ProviderConfig
from reconciler.providers.http import proxy_for
from reconciler.secret import Secret


@pytest.fixture
def forwarding_proxy():
    """A plain HTTP forward proxy that records the absolute URLs it was asked for."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append(self.path)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            answer = httpx.get(self.path, headers=headers, trust_env=False)  # not itself
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("content-type", ""))
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()
    thread.join()


def test_listing_goes_through_the_proxy_the_environment_names(
    emulator_url, forwarding_proxy, monkeypatch
):
    """HTTP_PROXY is honoured although reconciler brings its own transport."""
    proxy_url, seen = forwarding_proxy
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    provider = BlandProvider(
        ProviderConfig(vendor=Vendor.BLAND, api_key=Secret("proxy-test-key"), base_url=emulator_url)
    )
    try:
        assert [] == provider.list_runs([])
    finally:
        provider.close()
    assert [f"{emulator_url}/v1/evals/runs?limit=100"] == seen


def test_no_proxy_is_honoured(monkeypatch):
    """A host listed in NO_PROXY is reached directly."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    assert "http://proxy.example:3128" == proxy_for("https://api.bland.ai")
    assert proxy_for("https://evals.internal.example") is None
