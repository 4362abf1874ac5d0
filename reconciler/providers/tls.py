"""The TLS context every vendor's client verifies its server with, made once per process.

httpx builds one per client by default, loading the CA bundle each time (about 24 ms on the
machine of docs/performance.md: 72 ms of every three-vendor command's start-up). One is
shared instead; a context is safe to share between connections and threads. It honours
SSL_CERT_FILE and SSL_CERT_DIR as httpx does, and is made again when they change.
"""

from __future__ import annotations

import functools
import os
import ssl

import httpx


def tls_context() -> ssl.SSLContext:
    """Return the shared context for the CA variables as the environment sets them now."""
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()  # reads the two variables itself (trust_env)
