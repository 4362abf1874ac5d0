"""The PR comments rendered by a real GitHub-flavoured Markdown renderer, then read as HTML.

markdown-it-py with GitHub's extensions (tables, strikethrough, task lists from mdit-py-plugins;
raw HTML on, as GitHub allows `<details>`) stands in for GitHub. The assertions are on the HTML
a reviewer's browser gets: which list an item is in, whether a table is a table, whether a
`<details>` block closes, whether the marker stays an invisible comment.
"""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser

from markdown_it import MarkdownIt
from mdit_py_plugins.tasklists import tasklists_plugin

from reconciler.gates import Outcome, ResourceStatus, StatusResult
from reconciler.model import (
    Action,
    Change,
    DiffKind,
    FieldDiff,
    Identity,
    LiveRun,
    Plan,
    Reason,
    RunFields,
    RunPhase,
    Threshold,
    Vendor,
    VendorCounts,
)
from reconciler.render.comment import render_plan_and_status
from reconciler.render.markdown import CiRun, render_failed_plan, render_markdown
from reconciler.render.status import render_status_markdown
from reconciler.status import judge
from tests.test_render_markdown import NOW, cancel, create, resource
from tests.test_status import COMPLETE, run
from tests.test_status import resource as status_resource

GITHUB = (
    MarkdownIt("commonmark", {"html": True})
    .enable(["table", "strikethrough"])
    .use(tasklists_plugin)
)
CI = CiRun(
    sha="0123456",
    commit_url="https://github.com/acme/evals/commit/0123456789abcdef0123456789abcdef01234567",
    run_url="https://github.com/acme/evals/actions/runs/42",
)


@dataclasses.dataclass
class Node:
    """An HTML element (or `#comment`) with its children and its text."""

    tag: str
    attrs: dict[str, str | None] = dataclasses.field(default_factory=dict)
    children: list[Node] = dataclasses.field(default_factory=list)
    data: str = ""

    @property
    def text(self) -> str:
        return self.data + "".join(c.text for c in self.children if c.tag != "#comment")

    def find_all(self, tag: str) -> list[Node]:
        found = [c for c in self.children if c.tag == tag]
        for child in self.children:
            found += child.find_all(tag)
        return found

    def elements(self) -> list[Node]:
        """The top-level children that are elements or comments (not whitespace)."""
        return [c for c in self.children if c.tag != "#text" or c.data.strip()]


class _Tree(HTMLParser):
    """Build a tree of Nodes; refuse HTML whose tags do not close in order."""

    VOID = frozenset({"br", "hr", "img", "input"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert tag == self.stack[-1].tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(Node("#text", data=data))

    def handle_comment(self, data: str) -> None:
        self.stack[-1].children.append(Node("#comment", data=data))


def html_of(markdown: str) -> Node:
    """Render `markdown` as GitHub would and parse the HTML; every tag must close."""
    tree = _Tree()
    tree.feed(GITHUB.render(markdown))
    tree.close()
    assert [tree.root] == tree.stack, "an element was left open"
    return tree.root


def _list_after(root: Node, title: str) -> Node:
    """Return the list that directly follows the paragraph starting with `title`."""
    blocks = root.elements()
    for index, block in enumerate(blocks):
        if block.tag == "p" and block.text.startswith(title):
            following = blocks[index + 1]
            assert following.tag == "ul", f"{title!r} is followed by <{following.tag}>"
            return following
    raise AssertionError(f"no paragraph starts with {title!r}")


def _items(listing: Node) -> list[str]:
    return [" ".join(li.text.split()) for li in listing.children if li.tag == "li"]


def _replace(name: str, *changed: FieldDiff, raw: dict | None = None) -> Change:
    r = resource(name)
    return Change(
        action=Action.REPLACE,
        reason=Reason.SPEC_CHANGED,
        vendor=Vendor.BLAND,
        subject=str(r.address),
        identity=Identity.LABELS,
        resource=r,
        run=LiveRun(
            vendor=Vendor.BLAND,
            run_id=f"run-{name}",
            status="RUNNING",
            phase=RunPhase.ACTIVE,
            created_at=NOW,
            fields=RunFields.of(raw or {}),
        ),
        changed=changed,
        cost_usd=0.0042,
    )


def a_busy_plan(creates: int = 3) -> Plan:
    changes = [
        cancel("gone"),
        cancel("stale"),
        _replace(
            "checkout",
            FieldDiff(path="run_mode", change=DiffKind.CHANGED, new='"audio"'),
            FieldDiff(path="call_ids", change=DiffKind.CHANGED, new='["c1","c2"]'),
            raw={"run_mode": "text"},
        ),
        *(create(f"new-{n:03d}") for n in range(creates)),
    ]
    counts = (
        VendorCounts(vendor=Vendor.BLAND, live=3, managed=2, unmanaged=1),
        VendorCounts(vendor=Vendor.ADALINE, live=1, matched=1),
    )
    return Plan(
        workspace="support-evals",
        changes=tuple(changes),
        counts=counts,
        notes=("Adaline: 1 cost estimate(s) failed, shown as unknown: <timeout>",),
    )


class TestPlanComment:
    def test_the_marker_is_an_invisible_html_comment_on_the_first_line(self):
        """GitHub hides it, and `reconciler comment` finds the comment by it."""
        root = html_of(render_markdown(a_busy_plan(), ci=CI))
        first = root.elements()[0]
        assert ("#comment", " reconciler:support-evals ") == (first.tag, first.data)
        assert "reconciler:support-evals" not in root.text

    def test_the_heading_then_the_commit_and_run_links_then_the_summary(self):
        """A reviewer sees whose plan, from which commit and CI run, and what it does."""
        blocks = html_of(render_markdown(a_busy_plan(), ci=CI)).elements()
        assert ("h3", "reconciler plan for support-evals") == (blocks[1].tag, blocks[1].text)
        links = {a.text: a.attrs["href"] for a in blocks[2].find_all("a")}
        assert {"0123456": CI.commit_url, "CI run": CI.run_url} == links
        assert "Plan: 3 to create, 2 to cancel, 1 to replace." == blocks[3].text

    def test_counts_and_notes_are_not_bullets_of_the_cancel_list(self):
        """The cancel list holds the cancels only; counts and notes are lists of their own."""
        root = html_of(render_markdown(a_busy_plan()))
        cancels = _items(_list_after(root, "2 run(s) will be cancelled:"))
        assert [
            "- cancel BlandEvalRun/gone (Bland, run run-gone: no longer declared)",
            "- cancel BlandEvalRun/stale (Bland, run run-stale: no longer declared)",
        ] == cancels
        counts = _items(_list_after(root, "Runs the plan saw:"))
        assert 2 == len(counts)
        assert counts[0].startswith("Bland: 3 live runs: 2 managed by this workspace")
        notes = _items(_list_after(root, "Notes:"))
        assert ["Adaline: 1 cost estimate(s) failed, shown as unknown: <timeout>"] == notes

    def test_creates_and_replaces_are_visible_outside_the_folded_tables(self):
        """No need to open a <details> to see what will be created or replaced."""
        root = html_of(render_markdown(a_busy_plan()))
        created = _items(_list_after(root, "3 run(s) will be created:"))
        assert (
            "+ create BlandEvalRun/new-000 (Bland: no run exists yet; cost unknown)" == (created[0])
        )
        assert 3 == len(created)
        [replaced] = _list_after(root, "1 run(s) will be replaced").find_all("li")[:1]
        assert replaced.text.startswith("-/+ replace BlandEvalRun/checkout")

    def test_a_replace_shows_each_changed_field_old_to_new(self):
        """Old to new where the vendor's run says the old value; else the new value."""
        root = html_of(render_markdown(a_busy_plan()))
        [replaced] = _list_after(root, "1 run(s) will be replaced").find_all("li")[:1]
        [fields] = replaced.find_all("ul")
        assert [
            'run_mode: "text" → "audio"',
            'call_ids changed to ["c1","c2"]',
        ] == _items(fields)

    def test_a_long_plan_lists_25_and_points_at_the_tables_for_the_rest(self):
        """A big plan stays readable: the visible list is capped, nothing is silently lost."""
        root = html_of(render_markdown(a_busy_plan(creates=40)))
        assert 24 == len(_items(_list_after(root, "40 run(s) will be created:")))
        assert any(
            p.text == "…and 16 more create(s) and replace(s) in the tables below."
            for p in root.find_all("p")
        )
        [table] = root.find_all("table")
        assert 43 == len(table.find_all("tr")) - 1  # every action has its row

    def test_each_vendor_table_is_a_table_inside_a_details_block_that_closes(self):
        """Details fold the full tables; the summary counts the actions."""
        root = html_of(render_markdown(a_busy_plan()))
        [details] = root.find_all("details")
        [summary] = details.find_all("summary")
        assert "Bland: 6 action(s) (3 create, 2 cancel, 1 replace)" == summary.text
        [table] = details.find_all("table")
        header = [th.text for th in table.find_all("th")]
        assert ["action", "subject", "run", "cost", "why"] == header
        assert 6 == len(table.find_all("tbody")[0].find_all("tr"))
        assert details is root.elements()[-1]  # nothing after it was swallowed

    def test_a_pipe_or_backtick_in_a_subject_does_not_break_the_table(self):
        """Natural keys are vendor data: they stay one cell, one code span."""
        odd = dataclasses.replace(cancel("x"), subject="task|`a`|b")
        root = html_of(render_markdown(dataclasses.replace(a_busy_plan(), changes=(odd,))))
        [table] = root.find_all("table")
        [row] = table.find_all("tbody")[0].find_all("tr")
        cells = [td.text for td in row.find_all("td")]
        assert 5 == len(cells)
        assert "task|`a`|b" == cells[1]

    def test_html_in_a_vendor_message_stays_text(self):
        """A vendor's error can say anything; it never closes our <details> or adds a tag."""
        note = "Bland: estimate failed: </details><img src=x> &amp; | done"
        plan = dataclasses.replace(a_busy_plan(), notes=(note,))
        root = html_of(render_markdown(plan))
        assert [note] == _items(_list_after(root, "Notes:"))
        assert [] == root.find_all("img")
        assert 1 == len(root.find_all("details"))


class TestFailedPlanComment:
    def test_the_errors_are_one_code_block_under_the_marker(self):
        """A failed plan's comment: marker, a heading that says failed, the errors verbatim."""
        errors = ["evals/a.yaml:7: spec.run_mode: must be one of text, audio, full.", "x ``` y"]
        root = html_of(render_failed_plan("support-evals", errors, ci=CI))
        blocks = root.elements()
        assert " reconciler:support-evals " == blocks[0].data
        assert "reconciler plan for support-evals failed" == blocks[1].text
        [code] = root.find_all("pre")
        assert "\n".join(errors) + "\n" == code.text
        assert blocks[-1] is code


class TestStatusComment:
    def test_the_status_table_is_a_table_with_a_cost_column(self):
        """One row per gate under the summary; the cost shows once per resource."""
        r = status_resource(
            "nightly", Threshold(metric="score_mean", min=80), Threshold(metric="cost_usd", max=5)
        )
        live = run(r, "id1", "COMPLETE", COMPLETE)
        live = dataclasses.replace(live, cost_usd=0.0042)
        result = judge([r], [live], workspace="ws")  # the workspace of test_status's runs
        root = html_of(render_status_markdown(result, ci=CI))
        blocks = root.elements()
        assert " reconciler:ws " == blocks[0].data
        assert "reconciler status for ws" == blocks[1].text
        assert ["0123456", "CI run"] == [a.text for a in blocks[2].find_all("a")]
        assert result.summary == blocks[3].text
        [table] = root.find_all("table")
        assert ["", "resource", "run", "cost", "gate", "value"] == [
            th.text for th in table.find_all("th")
        ]
        rows = [
            [td.text for td in tr.find_all("td")]
            for tr in table.find_all("tbody")[0].children
            if tr.tag == "tr"
        ]
        assert ["$0.0042", ""] == [row[3] for row in rows]
        assert ["", "", "", ""] == rows[1][:4]  # the resource's cells are not repeated

    def test_a_plan_and_status_comment_has_one_marker_and_no_bullet_soup(self):
        """status --plan: the plan's lists end before the status heading."""
        status = StatusResult(
            workspace="support-evals",
            resources=(
                ResourceStatus(
                    resource=resource("a"), run=None, outcome=Outcome.ERROR, detail="no run"
                ),
            ),
        )
        text = render_plan_and_status(a_busy_plan(), status)
        root = html_of(text)
        assert 1 == sum(1 for n in root.elements() if n.tag == "#comment")
        headings = [h.text for h in root.find_all("h3")]
        assert [
            "reconciler plan for support-evals",
            "reconciler status for support-evals",
        ] == headings
        assert 2 == len(root.find_all("table"))
