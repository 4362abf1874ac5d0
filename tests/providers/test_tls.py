"""A vendor over HTTPS: its certificate is verified against the CAs the environment names.

Every vendor's client shares one TLS context (reconciler.providers.http.tls_context: loading
the CA bundle once, not once per vendor, is part of start-up). These tests hold the shared
context to what each client's own did: SSL_CERT_FILE is honoured, an untrusted certificate
is refused with an error that says so, and a changed SSL_CERT_FILE is read again.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from reconciler import emulator
from reconciler.errors import ListingError
from reconciler.model import Vendor
from reconciler.providers.bland import BlandProvider
from reconciler.providers.config import ProviderConfig
from reconciler.secret import Secret

KEY = "tls-test-key-5c1e"


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_url(ca: trustme.CA, start_emulator) -> str:
    """An emulator that speaks only HTTPS, with a certificate for `localhost` from `ca`."""
    server = emulator.make_server("127.0.0.1", 0, seed=5)
    server.bland.seed_runs(KEY, 3)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    url = start_emulator(server=server)
    return url.replace("http://127.0.0.1", "https://localhost")


def list_runs(url: str) -> int:
    provider = BlandProvider(
        ProviderConfig(vendor=Vendor.BLAND, api_key=Secret(KEY), base_url=url, max_retries=0)
    )
    try:
        return len(provider.list_runs([]))
    finally:
        provider.close()


def test_a_vendor_whose_ca_the_environment_names_is_listed(
    https_url: str, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert list_runs(https_url) == 3


def test_an_untrusted_certificate_is_refused_and_the_error_says_so(
    https_url: str, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ListingError, match=r"CERTIFICATE_VERIFY_FAILED"):
        list_runs(https_url)
    # the same process, once the CA is named: the context is made again, not kept
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert list_runs(https_url) == 3
