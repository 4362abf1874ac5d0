"""A vendor over HTTPS: its certificate is verified against the CAs the environment names.

Every vendor's client shares one TLS context (reconciler.providers.tls: loading
the CA bundle once, not once per vendor, is part of start-up). These tests hold the shared
context to what each client's own did: SSL_CERT_FILE is honoured, an untrusted certificate
is refused at once (not retried) with an error that says what to fix, and a changed
SSL_CERT_FILE is read again.
"""

from __future__ import annotations

import logging
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


def list_runs(url: str, *, max_retries: int = 0) -> int:
    provider = BlandProvider(
        ProviderConfig(
            vendor=Vendor.BLAND, api_key=Secret(KEY), base_url=url, max_retries=max_retries
        )
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


def test_an_untrusted_certificate_fails_at_once_and_says_what_to_fix(
    https_url: str,
    ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A certificate that does not verify is not a dropped connection: it is not retried
    (with the default retries that took 17 s of backoff), and the error names the fix."""
    caplog.set_level(logging.DEBUG, logger="reconciler.http")
    with pytest.raises(ListingError) as failed:
        list_runs(https_url, max_retries=5)
    assert str(failed.value) == (
        "bland: list runs failed: the vendor's TLS certificate is not trusted (unable to get"
        " local issuer certificate); if a proxy or an internal CA signs the vendor's"
        " certificate, point SSL_CERT_FILE at a bundle that holds its CA; otherwise check"
        " base_url"
    )
    attempts = [r.getMessage() for r in caplog.records if " attempt=" in r.getMessage()]
    assert len(attempts) == 1, attempts
    assert "error=ConnectError attempt=1 " in attempts[0]
    # the same process, once the CA is named: the context is made again, not kept
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert list_runs(https_url) == 3
