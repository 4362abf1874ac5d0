"""A plan as a pull-request comment: summary and cancels first, details folded, size-capped.

GitHub refuses comments longer than 65,536 characters. Whatever the plan's size, the comment
keeps its head (marker, summary, refusal) and drops detail first: the rows of each vendor's
table, then the visible lists, ending with a visible note of how much was left out. The hidden
marker `<!-- reconciler:<workspace> -->` lets CI find and update one comment in place; a plan
that failed writes a comment under the same marker (`render_failed_plan`), so the comment never
goes on showing the plan of an earlier push.

Every list is introduced by a paragraph of its own and followed by a blank line: in GitHub's
Markdown a line after a list without one is read as part of the list's last item.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import assert_never

from reconciler.model import Action, Change, DiffKind, FieldDiff, Plan, Vendor
from reconciler.render import money
from reconciler.render.text import REASONS, cost_line, counts_line

MAX_CHARS = 65_536
FOOTER_RESERVE = 400  # room kept for the note of what was left out
VISIBLE_ITEMS = 25  # creates and replaces listed outside the folded tables
MAX_SHOWN_VALUE = 120  # characters of an old or new field value
SYMBOLS = {
    Action.CREATE: "+ create",
    Action.CANCEL: "- cancel",
    Action.REPLACE: "-/+ replace",
    Action.NO_OP: "keep",
    Action.MOVED: "~ moved",
    Action.RELEASED: "released",
    Action.WAIT: "+ create (held)",
}
_WORKSPACE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_WORKSPACE_LINE_RE = re.compile(
    r"""^workspace:[ \t]*["']?([a-z0-9][a-z0-9-]{0,39})["']?[ \t]*(#.*)?$"""
)
_SHA_RE = re.compile(r"^[0-9a-f]{7,40}$")
_REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_TAG_RE = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY_RE = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_URL_RE = re.compile(r"^https?://[^\s<>()\[\]\"'`\\]+$")


def marker(workspace: str) -> str:
    """Return the hidden marker CI searches for to update the comment in place."""
    return f"<!-- reconciler:{workspace} -->"


def fallback_workspace(config_text: str | None, *, directory_name: str) -> str:
    """Return the workspace whose marker a failed plan uses when reconciler.yaml is unreadable.

    The `workspace:` line of the file if one can still be found (a typo elsewhere in the
    file then still replaces the right comment), else the directory's name as a workspace
    name would be written (docs/status.md).
    """
    for line in (config_text or "").splitlines():
        found = _WORKSPACE_LINE_RE.match(line.rstrip())
        if found:
            return found.group(1)
    slug = re.sub(r"[^a-z0-9-]+", "-", directory_name.lower()).strip("-")[:40].strip("-")
    return slug if _WORKSPACE_RE.match(slug) else "reconciler"


@dataclass(frozen=True, slots=True, kw_only=True)
class CiRun:
    """The commit and the CI run a comment was made from, shown in its header."""

    sha: str  # short
    commit_url: str | None = None
    run_url: str | None = None
    run_label: str = "CI run"

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, event: Mapping[str, object] | None = None
    ) -> CiRun | None:
        """Read GitHub Actions' `GITHUB_*` or GitLab's `CI_*` variables; None elsewhere.

        On a GitHub pull-request event the commit is the PR's head (from the event payload),
        not the merge commit GitHub checks out. Values that do not look like a SHA, a
        repository or a URL are ignored, so no variable can write Markdown into the comment.
        """
        if environ.get("GITHUB_ACTIONS") == "true" or "GITHUB_SHA" in environ:
            return cls._github(environ, event)
        if environ.get("GITLAB_CI") == "true" or "CI_COMMIT_SHA" in environ:
            return cls._gitlab(environ)
        return None

    @classmethod
    def _github(
        cls, environ: Mapping[str, str], event: Mapping[str, object] | None
    ) -> CiRun | None:
        sha = _head_sha(event) or environ.get("GITHUB_SHA", "")
        if not _SHA_RE.match(sha):
            return None
        server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        repo = environ.get("GITHUB_REPOSITORY", "")
        run_id = environ.get("GITHUB_RUN_ID", "")
        if not (_URL_RE.match(server) and _REPO_RE.match(repo)):
            return cls(sha=sha[:7])
        run_url = f"{server}/{repo}/actions/runs/{run_id}" if run_id.isdigit() else None
        return cls(sha=sha[:7], commit_url=f"{server}/{repo}/commit/{sha}", run_url=run_url)

    @classmethod
    def _gitlab(cls, environ: Mapping[str, str]) -> CiRun | None:
        sha = environ.get("CI_COMMIT_SHA", "")
        short = environ.get("CI_COMMIT_SHORT_SHA") or sha[:8]
        if not _SHA_RE.match(short):
            return None
        project = environ.get("CI_PROJECT_URL", "").rstrip("/")
        commit_url = (
            f"{project}/-/commit/{sha}" if _URL_RE.match(project) and _SHA_RE.match(sha) else None
        )
        # The job's log holds the whole plan (the comment may be cut); the pipeline is next best.
        for name, label in (("CI_JOB_URL", "CI job"), ("CI_PIPELINE_URL", "CI pipeline")):
            url = environ.get(name, "")
            if _URL_RE.match(url):
                return cls(sha=short, commit_url=commit_url, run_url=url, run_label=label)
        return cls(sha=short, commit_url=commit_url)

    def line(self) -> str:
        """Return the header line: `Commit abc1234 · CI run`, linked where possible."""
        sha = f"`{self.sha}`"
        parts = [f"Commit [{sha}]({self.commit_url})" if self.commit_url else f"Commit {sha}"]
        if self.run_url:
            parts.append(f"[{self.run_label}]({self.run_url})")
        return " · ".join(parts)


def _head_sha(event: Mapping[str, object] | None) -> str | None:
    pull_request = (event or {}).get("pull_request")
    head = pull_request.get("head") if isinstance(pull_request, dict) else None
    sha = head.get("sha") if isinstance(head, dict) else None
    return sha if isinstance(sha, str) else None


def escape(text: str) -> str:
    """Escape free text (notes, vendor messages) so it cannot open HTML or break a table.

    Only what GitHub would read as markup is escaped: a `<` that could open a tag, a `&` that
    could start an entity, and `|`; `score >= 80` stays readable in the raw comment.
    """
    text = _ENTITY_RE.sub("&amp;", text)
    text = _TAG_RE.sub("&lt;", text)
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """Return `text` as an inline code span, whatever backticks it holds."""
    text = text.replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 1] + "…"


def _why(change: Change) -> str:
    why = REASONS[change.reason]
    if change.changed:
        why += ": " + ", ".join(_code(d.path) for d in change.changed)
    return why


def _facts(change: Change) -> str:
    facts = [change.vendor.display_name]
    if change.run_id:
        facts.append(f"run {_code(change.run_id)}")
    head = ", ".join(facts) + f": {escape(REASONS[change.reason])}"
    if change.moved_from is not None:
        head += f"; from {_code(str(change.moved_from))}"
    if change.waits_for:
        head += "; waits for " + ", ".join(_code(str(a)) for a in change.waits_for)
    if change.creates or change.held:
        head += f"; {money.estimate(change.cost_usd)}"
    return head


def _item(change: Change) -> list[str]:
    """Return one visible list item, with a replace's changed fields nested under it."""
    lines = [f"- **{SYMBOLS[change.action]} {_code(change.subject)}** ({_facts(change)})"]
    lines += [f"  - {_field_line(change, diff)}" for diff in change.changed]
    return lines


def _old_value(change: Change, diff: FieldDiff) -> str | None:
    """The field's value on the run being replaced, when the vendor's run object has it."""
    if change.run is None or diff.change is not DiffKind.CHANGED or diff.new is None:
        return None  # a value the plan hides (from the environment) is hidden before too
    old = change.run.fields.canonical(diff.path)
    return None if old is None else _shorten(old)


def _field_line(change: Change, diff: FieldDiff) -> str:
    path = _code(diff.path)
    match diff.change:
        case DiffKind.REMOVED:
            return f"{path} removed"
        case DiffKind.ADDED:
            return f"{path} added: {_code(diff.new)}" if diff.new is not None else f"{path} added"
        case DiffKind.CHANGED:
            if diff.new is None:
                return f"{path} changed (value not shown)"
            old = _old_value(change, diff)
            if old is None:
                return f"{path} changed to {_code(diff.new)}"
            return f"{path}: {_code(old)} → {_code(diff.new)}"
        case _:
            assert_never(diff.change)


def _cell(text: str) -> str:
    """Escape the pipes of a table cell (in a code span too, as GitHub's tables need)."""
    return text.replace("|", "\\|")


def _row(change: Change) -> str:
    run = _code(change.run_id) if change.run_id else ""
    cost = money.estimate(change.cost_usd) if change.creates else ""
    cells = [SYMBOLS[change.action], _code(change.subject), run, cost, _why(change)]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


class _Budget:
    """Lines added while they fit in the character limit; counts what did not."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.lines: list[str] = []

    def fits(self, text: str) -> bool:
        return self.used + len(text) + 1 <= self.limit

    def add(self, text: str, *, required: bool = False) -> bool:
        if required or self.fits(text):
            self.lines.append(text)
            self.used += len(text) + 1
            return True
        return False

    def paragraph(self, text: str) -> None:
        """Add a paragraph of its own: a blank line, then the text (never cut)."""
        self.add("", required=True)
        self.add(text, required=True)


def _head(budget: _Budget, title: str, ci: CiRun | None) -> None:
    budget.add(title, required=True)
    if ci is not None:
        budget.paragraph(ci.line())


def render_markdown(plan: Plan, *, limit: int = MAX_CHARS, ci: CiRun | None = None) -> str:
    """Render `plan` as a Markdown comment of at most `limit` characters."""
    budget = _Budget(limit - FOOTER_RESERVE)
    budget.add(marker(plan.workspace), required=True)
    _head(budget, f"### reconciler plan for `{plan.workspace}`", ci)
    budget.paragraph(f"**{plan.summary}**")
    cost = cost_line(plan)
    if cost is not None:
        budget.paragraph(cost)
    for refusal in (plan.refusal, plan.cost_refusal):
        if refusal:
            budget.paragraph(f"**Refused:** {escape(refusal)}")
    if plan.targeted:
        budget.paragraph("_Partial plan: `--target`/`--exclude` limited it._")
    cancels = [c for c in plan.actions if c.action is Action.CANCEL]
    replaces = [c for c in plan.actions if c.action is Action.REPLACE]
    creates = [c for c in plan.actions if c.action is Action.CREATE]
    shown_cancels = _list(budget, f"**{len(cancels)} run(s) will be cancelled:**", cancels)
    visible = max(0, VISIBLE_ITEMS - len(replaces))
    shown_replaces = _list(
        budget,
        f"**{len(replaces)} run(s) will be replaced** (the new run is created, then the old "
        "one cancelled):",
        replaces[:VISIBLE_ITEMS],
    )
    shown_creates = _list(budget, f"**{len(creates)} run(s) will be created:**", creates[:visible])
    hidden = len(replaces) + len(creates) - shown_replaces - shown_creates
    if hidden:
        budget.paragraph(f"_…and {hidden} more create(s) and replace(s) in the tables below._")
    reports = [c for c in plan.changes if c.action in (Action.WAIT, Action.MOVED, Action.RELEASED)]
    _list(budget, f"**{len(reports)} line(s) only report (not changes):**", reports)
    if plan.counts:
        budget.paragraph("**Runs the plan saw:**")
        budget.add("", required=True)
        for counts in plan.counts:
            budget.add(f"- {escape(counts_line(counts))}")
    if plan.notes:
        budget.paragraph("**Notes:**")
        budget.add("", required=True)
        for note in plan.notes:
            budget.add(f"- {escape(note)}")
    shown_rows = sum(_details(budget, vendor, plan) for vendor in _vendors(plan.actions))
    left_out = len(plan.actions) - shown_rows
    lines = budget.lines
    if left_out or shown_cancels < len(cancels):
        lines += [
            "",
            f"_{left_out} of {len(plan.actions)} action line(s) and "
            f"{len(cancels) - shown_cancels} of {len(cancels)} cancel line(s) are not shown: "
            f"a comment holds at most {limit:,} characters. Run `reconciler plan` or see the "
            "CI log for the whole plan._",
        ]
    text = "\n".join(lines) + "\n"
    assert len(text) <= limit, "the footer reserve is too small"
    return text


def _list(budget: _Budget, title: str, changes: Sequence[Change]) -> int:
    """Add a titled list of changes while they fit; return how many did."""
    if not changes:
        return 0
    budget.paragraph(title)
    budget.add("", required=True)
    shown = 0
    for change in changes:
        item = _item(change)
        if not budget.fits("\n".join(item)):
            break
        for line in item:
            budget.add(line, required=True)
        shown += 1
    return shown


def _vendors(changes: Sequence[Change]) -> list[Vendor]:
    return sorted({c.vendor for c in changes})


def _details(budget: _Budget, vendor: Vendor, plan: Plan) -> int:
    """Add one vendor's folded table; return how many action rows fit."""
    changes = [c for c in plan.actions if c.vendor is vendor]
    per_action = {a: sum(1 for c in changes if c.action is a) for a in Action}
    parts = ", ".join(f"{n} {a.value}" for a, n in per_action.items() if n)
    opening = [
        "",
        f"<details><summary>{vendor.display_name}: {len(changes)} action(s) ({parts})</summary>",
        "",
        "| action | subject | run | cost | why |",
        "| --- | --- | --- | --- | --- |",
    ]
    closing = ["", "</details>"]
    overhead = sum(len(line) + 1 for line in opening + closing)
    if not budget.fits("x" * overhead):
        return 0
    for line in opening:
        budget.add(line, required=True)
    budget.limit -= sum(len(line) + 1 for line in closing)  # keep room to close the tag
    shown = 0
    for change in changes:
        if not budget.add(_row(change)):
            break
        shown += 1
    budget.limit += sum(len(line) + 1 for line in closing)
    for line in closing:
        budget.add(line, required=True)
    return shown


def render_failed_plan(
    workspace: str, errors: Sequence[str], *, limit: int = MAX_CHARS, ci: CiRun | None = None
) -> str:
    """Render the comment of a plan that failed: the errors under the workspace's marker.

    It replaces the comment of the last plan that worked, so no reviewer reads a plan that
    no longer holds. The caller passes the errors already scrubbed of secrets.
    """
    budget = _Budget(limit - FOOTER_RESERVE)
    budget.add(marker(workspace), required=True)
    _head(budget, f"### reconciler plan for `{workspace}` failed", ci)
    budget.paragraph(
        "**The plan failed: nothing was planned.** Any plan shown here before no longer holds. "
        "Fix what follows and push again:"
    )
    lines = [line for error in errors for line in error.splitlines()]
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    budget.add("", required=True)
    budget.add(f"{fence}text", required=True)
    budget.limit -= len(fence) + 1  # keep room to close the block
    shown = 0
    for line in lines:
        if not budget.add(line):
            break
        shown += 1
    budget.limit += len(fence) + 1
    budget.add(fence, required=True)
    if shown < len(lines):
        budget.paragraph(
            f"_{len(lines) - shown} of {len(lines)} error line(s) are not shown: a comment "
            f"holds at most {limit:,} characters. See the CI log for all of them._"
        )
    return "\n".join(budget.lines) + "\n"
