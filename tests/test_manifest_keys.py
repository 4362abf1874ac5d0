"""API keys in reconciler.yaml: checked before any request, never shown, never needed offline."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.manifest import load_config, load_manifests
from reconciler.secret import scrub

AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
KEY = "sk-live-canary-3d9a7f21c4"
MANIFEST = (
    "apiVersion: reconciler/v1\n"
    "kind: BlandEvalRun\n"
    "metadata: {name: nightly}\n"
    "spec:\n"
    "  call_ids: [c-1]\n"
    f"  attached_agents: [{{eval_agent_id: {AGENT}}}]\n"
)


class Vendor:
    """A loopback HTTP server that counts the requests it gets (and fails them all)."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(500)
                self.send_header("content-length", "0")
                self.end_headers()

            do_POST = do_GET

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    """A vendor that records every request reconciler sends it."""
    server = Vendor()
    thread = threading.Thread(
        target=server.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    thread.join(timeout=5)


def project(root: Path, providers: str) -> Path:
    """Write reconciler.yaml (providers block from line 3) and one Bland manifest."""
    (root / "reconciler.yaml").write_text(
        f"workspace: team\nmanifests: [evals.yaml]\nproviders:\n{providers}", encoding="utf-8"
    )
    (root / "evals.yaml").write_text(MANIFEST, encoding="utf-8")
    return root / "reconciler.yaml"


def run(root: Path, *args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, ["-C", str(root), *args], env=env or {})


def test_validate_needs_no_api_key_and_plan_still_names_the_unset_variable(
    tmp_path: Path,
) -> None:
    """The pre-commit hook runs keyless; the commands that call a vendor name what is missing."""
    config = project(
        tmp_path,
        '  bland: {api_key: "${BLAND_API_KEY}"}\n'
        '  adaline: {api_key: "${ADALINE_API_KEY}"}\n'
        '  arize: {api_key: "${ARIZE_API_KEY}", owner_user_id: "VXNlcjo0Mjp4eXo="}\n',
    )
    validated = run(tmp_path, "validate")
    expected = "Valid: 1 resource(s) in 1 file(s) (bland: 1); workspace team.\n"
    assert (0, expected, "") == (validated.exit_code, validated.stdout, validated.stderr)
    planned = run(tmp_path, "plan")
    assert 1 == planned.exit_code
    assert [
        f"Error: {config}:4: providers.bland.api_key: environment variable BLAND_API_KEY is not "
        "set. Export BLAND_API_KEY before running reconciler",
        f"{config}:5: providers.adaline.api_key: environment variable ADALINE_API_KEY is not "
        "set. Export ADALINE_API_KEY before running reconciler",
        f"{config}:6: providers.arize.api_key: environment variable ARIZE_API_KEY is not "
        "set. Export ARIZE_API_KEY before running reconciler",
    ] == planned.stderr.splitlines()


def test_an_api_key_set_but_empty_says_so_and_what_to_do_before_any_request(
    tmp_path: Path, vendor: Vendor
) -> None:
    """GitHub Actions passes a missing secret as "" on fork pull requests: say that."""
    config = project(
        tmp_path, f'  bland: {{api_key: "${{BLAND_API_KEY}}", base_url: {vendor.url}}}\n'
    )
    result = run(tmp_path, "plan", env={"BLAND_API_KEY": ""})
    expected = (
        f"Error: {config}:4: providers.bland.api_key: BLAND_API_KEY is set but empty (GitHub "
        "Actions passes secrets as empty strings to workflows from forks). Set the secret, or "
        "run plan only where secrets are available\n"
    )
    assert (1, expected, []) == (result.exit_code, result.stderr, vendor.hits)


STRIP = "Set BLAND_API_KEY to the key alone (`printf '%s' \"$KEY\"` writes no newline, `echo` does)"


@pytest.mark.parametrize(
    ("value", "flaw"),
    [
        (KEY + "\n", "ends with a newline"),
        (KEY + "\r\n", "ends with a newline"),
        ("  " + KEY, "starts or ends with whitespace"),
        (KEY[:6] + "\t" + KEY[6:], "contains a control character"),
        (KEY[:6] + "\x07" + KEY[6:], "contains a control character"),
        (KEY + "é", "contains a character that is not ASCII"),
    ],
    ids=["newline", "crlf", "leading-spaces", "tab", "bell", "non-ascii"],
)
def test_an_api_key_that_no_header_can_carry_is_refused_before_any_request_unshown(
    tmp_path: Path, vendor: Vendor, value: str, flaw: str
) -> None:
    """`echo $KEY > file` leaves a newline: one line names the field, never the value."""
    config = project(
        tmp_path, f'  bland: {{api_key: "${{BLAND_API_KEY}}", base_url: {vendor.url}}}\n'
    )
    result = run(tmp_path, "plan", env={"BLAND_API_KEY": value})
    expected = (
        f"Error: {config}:4: providers.bland.api_key: the value of BLAND_API_KEY {flaw}; no "
        f"vendor accepts that in a header. {STRIP}\n"
    )
    assert (1, "", expected, []) == (result.exit_code, result.stdout, result.stderr, vendor.hits)
    assert KEY[6:] not in result.stderr


def test_an_api_key_written_in_the_file_with_a_trailing_space_fails_validate_too(
    tmp_path: Path,
) -> None:
    """A key in the file is the file's own problem: validate reports it, without the key."""
    config = project(tmp_path, f"  bland: {{api_key: '{KEY} '}}\n")
    result = run(tmp_path, "validate")
    expected = (
        f"Error: {config}:4: providers.bland.api_key: the key starts or ends with whitespace; "
        "no vendor accepts that in a header. Remove it (better: read the key from the "
        "environment, `${NAME}`)\n"
    )
    assert (1, "", expected) == (result.exit_code, result.stdout, result.stderr)


def test_every_value_read_from_the_environment_is_scrubbed_from_any_later_message(
    tmp_path: Path,
) -> None:
    """A `${VAR}` in a manifest is a secret too: scrub() masks it wherever it turns up."""
    (tmp_path / "reconciler.yaml").write_text("workspace: team\nmanifests: [evals.yaml]\n")
    (tmp_path / "evals.yaml").write_text(
        MANIFEST + 'lifecycle: {triggers: {dataset: "${DATASET_TOKEN}"}}\n', encoding="utf-8"
    )
    token = "ds-token-7c1e0b94-not-for-logs"
    config = load_config(tmp_path / "reconciler.yaml", environ={})
    load_manifests(config, environ={"DATASET_TOKEN": token})
    assert "vendor said: bad dataset *** (400)" == scrub(f"vendor said: bad dataset {token} (400)")
