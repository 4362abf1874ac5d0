"""The docs name only files, commands, flags and links that exist.

A doc is README.md, docs/**/*.md, the descriptions and scripts of action.yml, the examples in
examples/ci/ and .pre-commit-hooks.yaml. Markdown is parsed with markdown-it (code blocks, code
spans, links and headings as a renderer sees them), and three kinds of claim are checked:

- a relative link must reach a file of the repository, and its `#anchor` a heading there
  (GitHub's slugs);
- a path of the repository named in prose or a code span (`reconciler/cli.py`,
  `examples/evals/*.yaml`, any `*.md`) must exist; paths in the user's own repository
  (`evals/**`, `.github/workflows/`) are not the repository's and are left alone;
- every `reconciler ...` command in a code span, code block or CI script must be a command of
  the live click tree, and each of its flags an option of that command or a global one (global
  options are accepted after the command too). The tree is read at test time, so commands
  added later are known without touching this file.
"""

from __future__ import annotations

import glob
import re
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parent.parent

# Files that the commands and CI scripts in the docs write, named as outputs, not as files of
# this repository (`reconciler plan --format markdown > plan.md`).
OUTPUT_FILES = frozenset({"plan.md", "status.md", "drift.md", "comment.md"})


def _docs() -> list[Path]:
    return [
        ROOT / "README.md",
        *sorted((ROOT / "docs").rglob("*.md")),
        ROOT / "action.yml",
        ROOT / ".pre-commit-hooks.yaml",
        *sorted(p for p in (ROOT / "examples" / "ci").rglob("*") if p.is_file()),
    ]


def _top_level(root: Path) -> frozenset[str]:
    """The first path segments of the repository's tracked files (or of what is on disk)."""
    listed = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=False
    )
    names = {line.split("/", 1)[0] for line in listed.stdout.splitlines() if line}
    if listed.returncode != 0 or not names:
        names = {p.name for p in root.iterdir()}
    return frozenset(names)


# --- what a doc says ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """A piece of a doc: prose, a code span, a code block (shell) or a link target."""

    kind: str  # "prose" | "span" | "code" | "link"
    line: int
    text: str


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _inline_text(token: Token) -> str:
    return "".join(c.content for c in token.children or [] if c.type in ("text", "code_inline"))


def _markdown(text: str) -> tuple[list[Claim], set[str]]:
    """Split Markdown into claims, and return the anchors of its headings."""
    parser = MarkdownIt("commonmark").enable("table")
    tokens = parser.parse(text)
    claims: list[Claim] = []
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for index, token in enumerate(tokens):
        line = (token.map[0] + 1) if token.map else 0
        if token.type in ("fence", "code_block"):
            claims.append(Claim(kind="code", line=line, text=token.content))
        elif token.type == "html_block":
            continue
        elif token.type == "heading_open":
            slug = _slug(_inline_text(tokens[index + 1]))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
        elif token.type == "inline":
            for child in token.children or []:
                if child.type == "text":
                    claims.append(Claim(kind="prose", line=line, text=child.content))
                elif child.type == "code_inline":
                    claims.append(Claim(kind="span", line=line, text=child.content))
                elif child.type == "link_open":
                    claims.append(Claim(kind="link", line=line, text=str(child.attrs["href"])))
    return claims, anchors


def _yaml_strings(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _yaml_strings(v, str(k))
    elif isinstance(node, list):
        for item in node:
            yield from _yaml_strings(item, key)
    elif isinstance(node, str):
        yield key, node


SCRIPT_KEYS = frozenset({"run", "script", "before_script", "after_script", "entry"})


def _yaml(text: str) -> list[Claim]:
    """Claims of a CI file: its comments and descriptions are prose, its scripts shell."""
    claims = [
        Claim(kind="prose", line=n, text=m.group(1))
        for n, line in enumerate(text.splitlines(), start=1)
        if (m := re.match(r"\s*#\s?(.*)", line))
    ]
    for key, value in _yaml_strings(yaml.safe_load(text)):
        if key in SCRIPT_KEYS:
            claims.append(Claim(kind="code", line=0, text=value))
        elif key == "description":
            claims.append(Claim(kind="prose", line=0, text=value))
            claims += [
                Claim(kind="span", line=0, text=span) for span in re.findall(r"`([^`]+)`", value)
            ]
    return claims


# --- paths and links -----------------------------------------------------------------------


def _exists(root: Path, candidate: Path) -> bool:
    try:
        candidate.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    if any(ch in str(candidate) for ch in "*?["):
        return bool(glob.glob(str(candidate), recursive=True))
    return candidate.exists()


def _ignored(root: Path, token: str) -> bool:
    """A path .gitignore covers is made at run time (`examples/.reconciler/`), not shipped."""
    result = subprocess.run(
        ["git", "check-ignore", "-q", "--no-index", token.rstrip("/") + "/x"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def _path_problems(doc: Path, root: Path, claim: Claim, top: frozenset[str]) -> Iterator[str]:
    text = re.sub(r"\b[a-z][a-z0-9+.-]*://\S*", " ", claim.text, flags=re.IGNORECASE)
    for raw in re.split(r"[\s`'\"()\[\]<>,;|=]+", text):
        token = raw.rstrip(".:!?").split("#", 1)[0]
        token = re.sub(r":\d+$", "", token).rsplit(":", 1)[-1]  # file.py:12, markdown:FILE
        if (
            not token
            or "://" in token
            or token.startswith(("$", "~", "-", "@", "{", "%", "\\"))
            or any(ch in token for ch in "${}\\")
        ):
            continue
        name = token.rstrip("/").rsplit("/", 1)[-1]
        if "/" in token.strip("/"):
            first = re.sub(r"^(\.\.?/)+", "", token).split("/", 1)[0]
            relative = token.startswith(("./", "../"))
            is_file = "." in name or token.endswith("/") or "*" in token
            if relative and not _exists(root, doc.parent / token):
                yield f"`{token}` does not exist (relative to {doc.parent.name}/)"
            elif (
                not relative
                and first in top
                and is_file
                and not _exists(root, root / token)
                and not _ignored(root, token)
            ):
                yield f"`{token}` does not exist in the repository"
            elif not relative and first not in top and name.endswith(".md"):
                places = (root / token, doc.parent / token, root / "docs" / token)
                if not any(_exists(root, p) for p in places):
                    yield f"`{token}` is not a file of the repository"
        elif token.endswith(".md") and token not in OUTPUT_FILES:
            places = (doc.parent / token, root / token, root / "docs" / token)
            if not any(_exists(root, p) for p in places):
                yield f"`{token}` is not a file of the repository"


def _link_problems(
    doc: Path, root: Path, href: str, anchors_of: dict[Path, set[str]]
) -> Iterator[str]:
    if re.match(r"[a-z][a-z0-9+.-]*:", href, re.IGNORECASE):
        return  # http:, https:, mailto:
    path, _, anchor = href.partition("#")
    target = (doc.parent / path) if path else doc
    if not _exists(root, target):
        yield f"link ({href}): {path} does not exist"
        return
    if anchor and target.suffix == ".md":
        if target not in anchors_of:
            anchors_of[target] = _markdown(target.read_text(encoding="utf-8"))[1]
        if anchor not in anchors_of[target]:
            yield f"link ({href}): {target.name} has no heading #{anchor}"


# --- reconciler commands -------------------------------------------------------------------

SEPARATORS = re.compile(r"&&|\|\||[|;()`]|\$\(|\bthen\b|\bdo\b|\belse\b")
LEADERS = frozenset({"-", "$", "!", "if", "then", "do", "else", "time", "exec", "run:", "entry:"})
PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]*$|^<.*>$|^\.\.\.$|^…$")


def _commands(text: str) -> Iterator[list[str]]:
    """Yield the argv (after `reconciler`) of every reconciler command in shell-like text.

    In a console transcript (lines starting with `$ `) only those lines are commands; the rest
    is output (`reconciler will do the following ...`).
    """
    lines = text.replace("\\\n", " ").splitlines()
    prompts = [line.lstrip()[2:] for line in lines if line.lstrip().startswith("$ ")]
    for line in prompts or lines:
        for segment in SEPARATORS.split(line):
            words = segment.split()
            while words and (words[0] in LEADERS or re.match(r"^\w+=", words[0])):
                words.pop(0)
            if len(words) < 2 or words[0] != "reconciler":
                continue
            rest = segment.split("reconciler", 1)[1]
            try:
                argv = shlex.split(rest, comments=True)
            except ValueError:
                argv = rest.split()
            for i, word in enumerate(argv):
                if word.startswith((">", "<", "2>", "#")):
                    argv = argv[:i]
                    break
            yield [w.strip("[]") for w in argv if w.strip("[]")]


def _options(command: click.Command) -> dict[str, bool]:
    """Every option name of `command` (help included), and whether it takes a value."""
    ctx = click.Context(command, info_name=command.name)
    names: dict[str, bool] = {}
    for param in command.get_params(ctx):
        if isinstance(param, click.Option):
            takes_value = not (param.is_flag or param.count)
            for name in (*param.opts, *param.secondary_opts):
                names[name] = takes_value
    return names


def _command_problems(argv: list[str], root_command: click.Group) -> Iterator[str]:
    shown = "reconciler " + " ".join(argv)
    global_options = _options(root_command)
    command: click.Command = root_command
    options = global_options
    expecting_command = True
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if word.startswith("-") and len(word) > 1:
            name = word.split("=", 1)[0]
            known = {**global_options, **options}
            if name not in known:
                owner = "reconciler" if command is root_command else command.name
                yield f"`{shown}`: {owner} has no option {name}"
            elif known[name] and "=" not in word:
                i += 1
            continue
        if expecting_command and isinstance(command, click.Group):
            if PLACEHOLDER.match(word):
                return  # `reconciler COMMAND ...`: a synopsis, not a command
            ctx = click.Context(command, info_name=command.name)
            sub = command.get_command(ctx, word)
            if sub is None:
                yield f"`{shown}`: no command {word!r}"
                return
            command, options = sub, _options(sub)
            expecting_command = isinstance(sub, click.Group)
            continue
        # a positional argument


# --- one doc -------------------------------------------------------------------------------


def doc_problems(
    doc: Path, *, root: Path = ROOT, anchors_of: dict[Path, set[str]] | None = None
) -> list[str]:
    """Every false claim of one doc, as `path:line: problem` lines."""
    anchors_of = {} if anchors_of is None else anchors_of
    text = doc.read_text(encoding="utf-8")
    if doc.suffix == ".md":
        claims, anchors = _markdown(text)
        anchors_of[doc] = anchors
    else:
        claims = _yaml(text)
    top = _top_level(root)
    problems: list[str] = []
    for claim in claims:
        found: list[str] = []
        if claim.kind == "link":
            found += _link_problems(doc, root, claim.text, anchors_of)
        if claim.kind in ("prose", "span"):
            found += _path_problems(doc, root, claim, top)
        if claim.kind in ("span", "code"):
            for argv in _commands(claim.text):
                found += _command_problems(argv, cli)
        where = (
            f"{doc.relative_to(root)}:{claim.line}" if claim.line else str(doc.relative_to(root))
        )
        problems += [f"{where}: {problem}" for problem in found]
    return sorted(set(problems))


# --- the repository's docs -----------------------------------------------------------------


@pytest.mark.parametrize("doc", _docs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_doc_names_only_files_commands_flags_and_links_that_exist(doc: Path) -> None:
    assert [] == doc_problems(doc)


def test_docs_cli_md_describes_every_command() -> None:
    """A command missing from the CLI page is a command users do not find."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    ctx = click.Context(cli, info_name="reconciler")
    missing = [
        name
        for name in cli.list_commands(ctx)
        if not (command := cli.get_command(ctx, name)) or not command.hidden
        if not re.search(rf"^#+ `reconciler {re.escape(name)}\b", text, re.MULTILINE)
    ]
    assert [] == missing


# --- the checker itself, on docs written for the purpose -----------------------------------


def _write(tmp_path: Path, text: str, name: str = "docs/page.md") -> Path:
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True, exist_ok=True)
    (root / "docs" / "cli.md").write_text("# CLI\n\n## Exit codes\n", encoding="utf-8")
    (root / "reconciler").mkdir(exist_ok=True)
    (root / "reconciler" / "cli.py").write_text("", encoding="utf-8")
    (root / "README.md").write_text("# r\n", encoding="utf-8")
    doc = root / name
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")
    return doc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("See `shared/providers/bland.md`.\n", "`shared/providers/bland.md` is not a file"),
        ("As DESIGN.md rule 1 says.\n", "`DESIGN.md` is not a file of the repository"),
        ("In `reconciler/emulator/bland.py`.\n", "`reconciler/emulator/bland.py` does not exist"),
        ("See [the CLI](clii.md).\n", "link (clii.md): clii.md does not exist"),
        ("See [codes](cli.md#exit-code).\n", "link (cli.md#exit-code): cli.md has no heading"),
        ("Run `reconciler destroy`.\n", "`reconciler destroy`: no command 'destroy'"),
        ("```sh\nreconciler plan --detailed\n```\n", "plan has no option --detailed"),
        ("`reconciler -X plan`\n", "reconciler has no option -X"),
        ("```yaml\n- run: reconciler validate --strict | tee x\n```\n", "no option --strict"),
    ],
    ids=[
        "outside-path",
        "bare-missing-md",
        "missing-source-file",
        "broken-link",
        "broken-anchor",
        "unknown-command",
        "unknown-flag-in-block",
        "unknown-global-flag",
        "unknown-flag-in-yaml-block",
    ],
)
def test_the_checker_reports_each_kind_of_false_claim(
    text: str, expected: str, tmp_path: Path
) -> None:
    doc = _write(tmp_path, text)
    problems = doc_problems(doc, root=doc.parent.parent)
    assert 1 == len(problems), problems
    assert expected in problems[0]


@pytest.mark.parametrize(
    "text",
    [
        "Write the comment to `plan.md`: `reconciler plan --format markdown > plan.md`.\n",
        "```sh\nreconciler -C examples plan -out plan.json --target 'BlandEvalRun/x-*'\n```\n",
        "`reconciler validate --debug` (global options after the command)\n",
        "`apiVersion: reconciler/v1`, `evals/**`, `.github/workflows/`, `$RUNNER_TEMP/x.md`\n",
        "```\nreconciler [-C DIR] [--config FILE] COMMAND ...\n```\n",
        "See [codes](cli.md#exit-codes), [home](https://example.com/x.md), [up](../README.md).\n",
        "`reconciler plan --format markdown | reconciler comment`\n",
    ],
    ids=["outputs", "options", "global-after", "user-paths", "synopsis", "links", "pipe"],
)
def test_the_checker_accepts_true_claims(text: str, tmp_path: Path) -> None:
    doc = _write(tmp_path, text)
    assert [] == doc_problems(doc, root=doc.parent.parent)


def test_the_checker_reads_ci_scripts_and_descriptions(tmp_path: Path) -> None:
    text = (
        "# Uses docs/nope.md\n"
        "inputs:\n  x:\n    description: Runs `reconciler plan --fast`.\n"
        "runs:\n  steps:\n    - run: |\n        reconciler aply --auto-approve\n"
    )
    doc = _write(tmp_path, text, name="action.yml")
    assert [
        "action.yml: `reconciler aply --auto-approve`: no command 'aply'",
        "action.yml: `reconciler plan --fast`: plan has no option --fast",
        "action.yml:1: `docs/nope.md` does not exist in the repository",
    ] == doc_problems(doc, root=doc.parent)
