"""The plan as a pull-request comment: order, folding, the marker and the size cap."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import Result

from reconciler.cli import cli
from reconciler.model import (
    Action,
    Address,
    Change,
    Identity,
    Kind,
    Lifecycle,
    LiveRun,
    Plan,
    Reason,
    Resource,
    RunPhase,
    SourceLocation,
    Vendor,
    VendorCounts,
)
from reconciler.render.markdown import (
    MAX_CHARS,
    CiRun,
    fallback_workspace,
    marker,
    render_failed_plan,
    render_markdown,
)
from tests.e2e.test_bland import API_KEY, Project

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def resource(name: str, kind: Kind = Kind.BLAND_EVAL_RUN) -> Resource:
    spec = {
        Kind.BLAND_EVAL_RUN: {"call_ids": ["c1"], "attached_agents": [{"eval_agent_id": "a"}]},
        Kind.ADALINE_EVALUATION: {"promptId": "p", "evaluatorId": name, "datasetId": "d"},
    }[kind]
    return Resource.build(
        address=Address(kind, name),
        spec=spec,
        lifecycle=Lifecycle(),
        source=SourceLocation(path="x.yaml", line=1),
    )


def run(run_id: str, vendor: Vendor = Vendor.BLAND) -> LiveRun:
    return LiveRun(
        vendor=vendor, run_id=run_id, status="RUNNING", phase=RunPhase.ACTIVE, created_at=NOW
    )


def create(name: str, kind: Kind = Kind.BLAND_EVAL_RUN) -> Change:
    r = resource(name, kind)
    return Change(
        action=Action.CREATE,
        reason=Reason.MISSING,
        vendor=r.vendor,
        subject=str(r.address),
        identity=Identity.NONE,
        resource=r,
    )


def cancel(name: str) -> Change:
    return Change(
        action=Action.CANCEL,
        reason=Reason.NOT_DECLARED,
        vendor=Vendor.BLAND,
        subject=f"BlandEvalRun/{name}",
        identity=Identity.LABELS,
        run=run(f"run-{name}"),
    )


def a_plan(changes: list[Change], **extra: object) -> Plan:
    counts = (VendorCounts(vendor=Vendor.BLAND, live=3, managed=2, unmanaged=1),)
    return Plan(workspace="support-evals", changes=tuple(changes), counts=counts, **extra)


class TestShape:
    def test_it_starts_with_the_hidden_marker_then_the_summary(self):
        """CI finds the comment by the marker; the summary is the first thing a reader sees."""
        lines = render_markdown(a_plan([create("a")])).splitlines()
        assert "<!-- reconciler:support-evals -->" == lines[0] == marker("support-evals")
        assert "**Plan: 1 to create, 0 to cancel, 0 to replace.**" in lines[:5]

    def test_cancels_come_first_and_in_bold(self):
        """A reviewer sees what will be stopped before anything else."""
        text = render_markdown(a_plan([create("a"), cancel("gone")]))
        first_cancel = text.index("**- cancel `BlandEvalRun/gone`**")
        assert first_cancel < text.index("<details>")
        assert "**1 run(s) will be cancelled:**" in text

    def test_each_vendor_is_folded_in_its_own_details(self):
        """One collapsible block per vendor, with counts per action in its summary."""
        changes = [create("a"), create("b"), cancel("gone"), create("q", Kind.ADALINE_EVALUATION)]
        text = render_markdown(a_plan(changes))
        assert "<details><summary>Bland: 3 action(s) (2 create, 1 cancel)</summary>" in text
        assert "<details><summary>Adaline: 1 action(s) (1 create)</summary>" in text
        assert text.count("<details>") == text.count("</details>") == 2

    def test_a_refused_plan_says_so_under_the_summary(self):
        """The guard's reason is in the comment, not only in the CI log."""
        text = render_markdown(a_plan([cancel("x")], refusal="too many cancels"))
        assert "**Refused:** too many cancels" in text

    def test_a_plan_with_no_changes_is_short(self):
        """No details blocks when nothing changes."""
        text = render_markdown(a_plan([]))
        assert "No changes." in text
        assert "<details>" not in text


class TestSizeCap:
    def test_a_ten_thousand_action_plan_fits_with_a_note_of_what_was_left_out(self):
        """GitHub's 65,536-character limit holds, and the comment says what it dropped."""
        changes = [create(f"resource-{n:05d}") for n in range(9_000)]
        changes += [cancel(f"gone-{n:05d}") for n in range(1_000)]
        text = render_markdown(a_plan(changes))
        assert len(text) <= MAX_CHARS
        assert "**Plan: 9000 to create, 1000 to cancel, 0 to replace.**" in text
        assert "are not shown: a comment holds at most 65,536 characters" in text
        assert text.count("<details>") == text.count("</details>")

    def test_detail_goes_before_cancels(self):
        """Under a tight limit, the cancels stay and the folded rows are dropped."""
        changes = [create(f"r{n}") for n in range(200)] + [cancel("gone")]
        text = render_markdown(a_plan(changes), limit=3_000)
        assert len(text) <= 3_000
        assert "**- cancel `BlandEvalRun/gone`**" in text
        assert "not shown" in text

    def test_a_plan_that_fits_has_no_note(self):
        """Nothing dropped, nothing said."""
        assert "not shown" not in render_markdown(a_plan([create("a")]))


class TestCost:
    def test_each_create_shows_its_estimate_and_the_total_is_under_the_summary(self):
        """A priced create shows ~$, an unpriced one says unknown, never $0."""
        priced = Change(
            action=Action.CREATE,
            reason=Reason.MISSING,
            vendor=Vendor.BLAND,
            subject="BlandEvalRun/a",
            identity=Identity.NONE,
            resource=resource("a"),
            cost_usd=0.42,
        )
        text = render_markdown(a_plan([priced, create("b")]))
        assert "| + create | `BlandEvalRun/a` |  | ~$0.42 |" in text
        assert "| + create | `BlandEvalRun/b` |  | cost unknown |" in text
        assert "Estimated cost: $0.42 (1 unknown)" in text


SHA = "0123456789abcdef0123456789abcdef01234567"
HEAD = "fedcba9876543210fedcba9876543210fedcba98"
GITHUB_ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SHA": SHA,
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/evals",
    "GITHUB_RUN_ID": "42",
}


class TestCiHeader:
    def test_a_push_names_the_commit_and_links_the_actions_run(self):
        ci = CiRun.from_environ(GITHUB_ENV)
        assert (
            "Commit [`0123456`](https://github.com/acme/evals/commit/" + SHA + ") · "
            "[CI run](https://github.com/acme/evals/actions/runs/42)"
        ) == ci.line()
        lines = render_markdown(a_plan([create("a")]), ci=ci).splitlines()
        assert ci.line() == lines[3]

    def test_a_pull_request_names_its_head_commit_not_the_merge_commit(self):
        """GitHub checks out a merge commit for PRs; the reviewer knows the head commit."""
        ci = CiRun.from_environ(GITHUB_ENV, event={"pull_request": {"head": {"sha": HEAD}}})
        assert ("fedcba9", f"https://github.com/acme/evals/commit/{HEAD}") == (
            ci.sha,
            ci.commit_url,
        )

    def test_gitlab_names_the_short_sha_and_links_the_job(self):
        environ = {
            "GITLAB_CI": "true",
            "CI_COMMIT_SHA": SHA,
            "CI_COMMIT_SHORT_SHA": "01234567",
            "CI_PROJECT_URL": "https://gitlab.com/acme/evals",
            "CI_PIPELINE_URL": "https://gitlab.com/acme/evals/-/pipelines/7",
            "CI_JOB_URL": "https://gitlab.com/acme/evals/-/jobs/9",
        }
        assert (
            "Commit [`01234567`](https://gitlab.com/acme/evals/-/commit/" + SHA + ") · "
            "[CI job](https://gitlab.com/acme/evals/-/jobs/9)"
        ) == CiRun.from_environ(environ).line()
        del environ["CI_JOB_URL"]
        assert "[CI pipeline](https://gitlab.com/acme/evals/-/pipelines/7)" in (
            CiRun.from_environ(environ).line()
        )

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("GITHUB_SERVER_URL", "https://x) [click](https://evil.example"),
            ("GITHUB_REPOSITORY", "acme/evals](https://evil.example"),
            ("GITHUB_RUN_ID", "42)<script>"),
        ],
        ids=["server", "repository", "run-id"],
    )
    def test_a_variable_that_is_not_a_url_part_writes_no_markdown(self, name, value):
        """CI variables can be set by anyone who edits the workflow: they never become links."""
        line = CiRun.from_environ({**GITHUB_ENV, name: value}).line()
        assert "evil" not in line
        assert "<script>" not in line
        assert line.startswith("Commit ")

    def test_a_sha_that_is_not_hex_gives_no_header(self):
        assert CiRun.from_environ({**GITHUB_ENV, "GITHUB_SHA": "`rm -rf`"}) is None

    def test_outside_ci_there_is_no_header(self):
        assert CiRun.from_environ({"HOME": "/root"}) is None
        assert "Commit" not in render_markdown(a_plan([create("a")]))


class TestFallbackWorkspace:
    def test_the_workspace_line_of_a_broken_file_still_names_the_comment(self):
        text = "workspace: support-evals  # ours\nproviders: [\n"
        assert "support-evals" == fallback_workspace(text, directory_name="evals")

    def test_without_a_workspace_line_the_directory_name_is_used(self):
        assert "my-evals" == fallback_workspace("providers: [", directory_name="My_Evals")
        assert "my-evals" == fallback_workspace(None, directory_name="My_Evals")

    def test_a_directory_name_with_nothing_usable_falls_back_to_reconciler(self):
        assert "reconciler" == fallback_workspace(None, directory_name="___")


@pytest.fixture
def project(tmp_path, emulator_url, monkeypatch) -> Project:
    for name in [*GITHUB_ENV, "GITHUB_EVENT_PATH", "GITLAB_CI", "CI_COMMIT_SHA"]:
        monkeypatch.delenv(name, raising=False)  # CI's own variables would change the header
    project = Project(root=tmp_path / "repo", base_url=emulator_url)
    project.root.mkdir()
    project.configure()
    project.declare("checkout-nightly")
    return project


def _plan_markdown(project: Project, env: dict[str, str] | None = None) -> Result:
    return project.runner.invoke(
        cli,
        ["-C", str(project.root), "plan", "--format", "markdown"],
        env={"BLAND_API_KEY": API_KEY, **(env or {})},
        catch_exceptions=False,
    )


class TestFailedPlanCommentThroughTheCli:
    def test_a_manifest_error_replaces_the_comment_with_the_errors_and_exits_1(self, project):
        """The push broke validation: the comment says so instead of showing the last plan."""
        manifest = project.root / "evals" / "checkout-nightly.yaml"
        manifest.write_text(manifest.read_text().replace("run_mode: text", "run_mode: txet"))
        result = _plan_markdown(project)
        assert 1 == result.exit_code
        error = result.stderr.strip().removeprefix("Error: ")
        assert error.startswith("evals/checkout-nightly.yaml:12: spec.run_mode: must be one of")
        assert [
            "<!-- reconciler:support-evals -->",
            "### reconciler plan for `support-evals` failed",
            "",
            "**The plan failed: nothing was planned.** Any plan shown here before no longer "
            "holds. Fix what follows and push again:",
            "",
            "```text",
            error,
            "```",
        ] == result.stdout.splitlines()

    def test_a_vendor_failure_replaces_the_comment_and_the_comment_never_shows_the_key(
        self, project
    ):
        """A listing that fails aborts the plan; the comment shows why, the key scrubbed."""
        with _echoing_vendor() as url:
            config = project.root / "reconciler.yaml"
            config.write_text(
                config.read_text().replace(project.base_url, url)
                + "  # a vendor that answers 500 and echoes the key\n"
            )
            config.write_text(
                config.read_text().replace(
                    f"base_url: {url}", f"base_url: {url}\n    max_retries: 0"
                )
            )
            result = _plan_markdown(project)
        assert 1 == result.exit_code, result.stdout
        lines = result.stdout.splitlines()
        assert "<!-- reconciler:support-evals -->" == lines[0]
        assert "### reconciler plan for `support-evals` failed" == lines[1]
        assert any(line.startswith("bland: list runs failed (HTTP 500)") for line in lines), lines
        assert API_KEY not in result.stdout

    def test_a_broken_reconciler_yaml_still_uses_its_workspace_marker(self, project):
        """A YAML typo elsewhere in the file still replaces the right comment."""
        config = project.root / "reconciler.yaml"
        config.write_text(config.read_text() + "release: [\n")
        result = _plan_markdown(project)
        assert 1 == result.exit_code
        assert "<!-- reconciler:support-evals -->" == result.stdout.splitlines()[0]
        assert "YAML syntax error" in result.stdout

    def test_a_missing_reconciler_yaml_uses_the_directory_name(self, project):
        (project.root / "reconciler.yaml").unlink()
        result = _plan_markdown(project)
        assert 1 == result.exit_code
        assert "<!-- reconciler:repo -->" == result.stdout.splitlines()[0]

    def test_the_comment_header_names_the_pull_requests_head_commit(self, project, tmp_path):
        """Read from GITHUB_* and the event payload by the CLI, drawn by the renderer."""
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": HEAD}}}))
        result = _plan_markdown(project, {**GITHUB_ENV, "GITHUB_EVENT_PATH": str(event)})
        assert 0 == result.exit_code, result.stderr
        assert (
            f"Commit [`fedcba9`](https://github.com/acme/evals/commit/{HEAD}) · "
            "[CI run](https://github.com/acme/evals/actions/runs/42)"
        ) == result.stdout.splitlines()[3]


@contextmanager
def _echoing_vendor() -> Iterator[str]:
    """A vendor that answers every request 500 with the caller's Authorization in the body."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(
                {"error": {"message": f"boom for {self.headers.get('Authorization')}"}}
            ).encode()
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class TestFailedPlanSize:
    def test_ten_thousand_errors_fit_with_a_note_and_the_code_block_closes(self):
        errors = [
            f"evals/r{n:05d}.yaml:1: metadata.name: bad name. Rename it" for n in range(10_000)
        ]
        text = render_failed_plan("ws", errors)
        assert len(text) <= MAX_CHARS
        assert 2 == text.count("```")
        assert text.rstrip().endswith(
            "error line(s) are not shown: a comment holds at most 65,536 characters. "
            "See the CI log for all of them._"
        )
