"""Secrets: every form a message may quote a key in is masked, in text and in log records."""

from __future__ import annotations

import io
import json
import logging

import pytest

from reconciler.secret import ScrubFilter, Secret, scrub

KEY = "sk-secret\tunit-canary\nrest"  # control characters inside: a pasted, broken key


@pytest.mark.parametrize(
    "quoted",
    [KEY, repr(KEY), repr(KEY.encode()), json.dumps(KEY), json.dumps(" " + KEY + "\n")],
    ids=["raw", "repr", "bytes-repr", "json", "json-padded"],
)
def test_a_key_is_masked_however_a_message_quotes_it(quoted):
    """httpx quotes an illegal header as bytes, a vendor echoes it as JSON: both show ***."""
    Secret(" " + KEY + "\n")
    text = scrub(f"Illegal header value {quoted} (sent as authorization)")
    assert "unit-canary" not in text
    assert "***" in text


def test_a_log_record_is_scrubbed_in_its_message_arguments_and_traceback():
    """What the --debug handler prints: args, exception text and stack never show the key."""
    Secret("sk-log-canary-2718")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(ScrubFilter())
    logger = logging.getLogger("reconciler.test_secret")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("vendor said %s", "authorization: sk-log-canary-2718")
        try:
            raise ValueError("Illegal header value b'sk-log-canary-2718'")
        except ValueError:
            logger.exception("failed", stack_info=True)
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "sk-log-canary-2718" not in output
    assert "vendor said authorization: ***" in output
    assert "ValueError: Illegal header value b'***'" in output
