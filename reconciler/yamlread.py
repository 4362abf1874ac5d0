"""YAML text to plain values that remember their lines, refusing what JSON cannot carry.

The text is composed into nodes (so every value keeps the line it came from) and built by
hand, never by PyYAML's constructor: that is where the limits live. Merge keys (`<<: *a`,
`<<: [*a, *b]`) are honoured, with the lines of the merged values. Everything else that is
not plain JSON is a problem at its line: unknown or exotic tags (`!Ref`, `!!binary`,
`!!set`), integers beyond 64 bits, `.nan` and `.inf`, nesting deeper than MAX_DEPTH, and
aliases that expand to more than MAX_ALIAS_NODES values (a "billion laughs" bomb is refused
after a few thousand steps, in bounded memory). `${NAME}` in strings is replaced from the
environment; every value so read is remembered by `reconciler.secret`, and the paths that
hold one are marked sensitive so that no message echoes them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml

from reconciler.errors import Problem
from reconciler.secret import remember
from reconciler.yamlcompose import MAX_DEPTH, DepthError, compose_each

MAX_ALIAS_NODES = 10_000  # values reached through aliases and merges, per document
MIN_INT = -(2**63)  # 64-bit signed: what JSON parsers and the vendors' APIs accept
MAX_INT = 2**63 - 1
_MAX_INT_DIGITS = 40  # longer integer text is out of range whatever its base

ENV_REFERENCE = re.compile(r"\$(\$?)\{([^}]*)\}")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_TIMESTAMP, _MERGE, _MAP, _SEQ = (_TAG + t for t in ("timestamp", "merge", "map", "seq"))
_CONSTRUCTED = frozenset({_INT, _FLOAT, _BOOL, _NULL})
YAML_FIX = "Fix the YAML syntax (indentation, quotes, a missing ':')"

Path_ = tuple[str | int, ...]
T = TypeVar("T")


@dataclass(slots=True)
class Document:
    """One YAML document: its value, the line of every path in it, and its ${ENV} paths."""

    value: Any
    line: int
    lines: dict[Path_, int] = field(default_factory=dict)
    sensitive: set[Path_] = field(default_factory=set)
    unresolved: set[Path_] = field(default_factory=set)  # values the reader already reported
    variables: dict[Path_, list[str]] = field(default_factory=dict)  # the ${NAME}s of a path

    def line_of(self, path: Iterable[str | int]) -> int:
        """Return the line of `path`, or of its nearest ancestor that has one."""
        parts = tuple(path)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return self.line

    def is_sensitive(self, path: Iterable[str | int]) -> bool:
        """Say whether `path`, an ancestor or a descendant holds a value from the environment."""
        parts = tuple(path)
        return any(s[: len(parts)] == parts or parts[: len(s)] == s for s in self.sensitive)


def dotted(path: Iterable[str | int]) -> str:
    """Write a path the way users write it: `spec.attached_agents[0].weight`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Refused(Exception):
    """A document is too deep or expands too far: building it stops at once."""

    def __init__(self, path: Path_, message: str, fix: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.fix = fix


def _tag_name(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


class Reader:
    """Turns YAML text into Documents, collecting problems instead of raising.

    `hold(path)` names the paths whose ${NAME} problems are kept apart in `held` rather than
    in `problems` (reconciler.yaml's API keys: only the commands that call a vendor need them).
    `fast=False` reads with the pure-Python reader alone (see reconciler.yamlcompose).
    """

    def __init__(
        self,
        display: str,
        environ: Mapping[str, str],
        *,
        hold: Callable[[Path_], bool] = lambda path: False,
        fast: bool = True,
    ) -> None:
        self.display = display
        self.fast = fast
        self.environ = environ
        self.hold = hold
        self.problems: list[Problem] = []
        self.held: list[Problem] = []
        self._constructor = yaml.constructor.SafeConstructor()
        self._expanded = 0
        self._built: set[int] = set()
        self._alias_use: Path_ | None = None
        self._document: Document | None = None

    def read(self, text: str) -> list[Document]:
        """Return the documents of `text`; problems go to `self.problems`."""
        return self.read_each(text, lambda document: document)

    def read_each(self, text: str, use: Callable[[Document], T]) -> list[T]:
        """Return `use(document)` for each document of `text`, as soon as it is read.

        One document (its nodes, each with two marks, and its lines) is alive at a time,
        not the whole file's: 10,000 documents in one file used to hold every node and then
        every document at once (docs/performance.md, memory). A syntax error anywhere
        still reports that error alone, and nothing else: what `use` returned is dropped.
        """
        used: list[T] = []
        problems, held = len(self.problems), len(self.held)
        try:
            for node in compose_each(text, fast=self.fast):
                document = self._read_document(node)
                if document is not None:
                    used.append(use(document))
        except yaml.YAMLError as error:
            del self.problems[problems:], self.held[held:]  # what the documents before said
            self.problems.append(self._syntax_problem(error))
            return []
        return used

    def _syntax_problem(self, error: yaml.YAMLError) -> Problem:
        """Return the problem a composer error makes (the file then declares nothing)."""
        if isinstance(error, DepthError):
            mark = error.problem_mark
            return Problem(
                path=self.display,
                line=mark.line + 1 if mark else 0,
                message=f"nested deeper than {MAX_DEPTH} levels",
                fix="Flatten the document; manifests need a handful of levels",
            )
        if isinstance(error, yaml.MarkedYAMLError):
            mark = error.problem_mark or error.context_mark
            line = mark.line + 1 if mark else 0
            column = mark.column + 1 if mark else 0
            problem = (error.problem or error.context or "invalid YAML").rstrip(".")
            return Problem(
                path=self.display,
                line=line,
                column=column,
                message=f"YAML syntax error at column {column}: {problem}",
                fix=YAML_FIX,
            )
        return Problem(path=self.display, line=0, message=f"invalid YAML: {error}")

    def _read_document(self, node: yaml.Node) -> Document | None:
        """Build one composed document; None when it is empty or refused (a problem says)."""
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
            return None  # an empty document (a stray `---`) declares nothing
        document = Document(value=None, line=node.start_mark.line + 1)
        self._expanded = 0
        self._built = set()
        self._alias_use = None
        self._document = document
        try:
            document.value = self._build(node, (), document, shared=False)
        except _Refused as refused:
            # an alias in a list has the anchor's line; its list has the line of the use
            where = refused.path
            line = document.line_of(where[:-1] if where and isinstance(where[-1], int) else where)
            self.problems.append(
                Problem(
                    path=self.display,
                    line=line,
                    field=dotted(refused.path),
                    message=refused.message,
                    fix=refused.fix,
                )
            )
            return None
        return document

    def _build(self, node: yaml.Node, path: Path_, document: Document, *, shared: bool) -> Any:
        """Build `node`; `shared` is true below an alias or a merge, where expansion is counted."""
        if not shared and id(node) in self._built:
            shared = True
            self._alias_use = path  # where an expansion starts: the place to name
        self._built.add(id(node))
        if len(path) > MAX_DEPTH:
            raise _Refused(
                self._alias_use or path[:MAX_DEPTH],
                f"nested deeper than {MAX_DEPTH} levels (through aliases)",
                "Flatten the document; manifests need a handful of levels",
            )
        if shared:
            self._count(path)
        document.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                return self._bad_tag(node, path, document)
            return self._mapping(node, path, document, shared=shared)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                return self._bad_tag(node, path, document)
            return [
                self._build(item, (*path, n), document, shared=shared)
                for n, item in enumerate(node.value)
            ]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node, path, document)

    def _mapping(
        self, node: yaml.MappingNode, path: Path_, document: Document, *, shared: bool
    ) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        explicit: set[str] = set()
        for key_node, value_node, merged in self._pairs(node, path, document, depth=0):
            key = self._key(key_node, path, document)
            if key is None:
                continue
            child = (*path, key)
            if key in mapping:
                if merged:
                    continue  # a merged value never overrides an explicit or earlier one
                if key in explicit:
                    self._problem(
                        child,
                        key_node.start_mark.line + 1,
                        f"`{key}` is given twice",
                        "Keep one of them",
                        settled=False,
                    )
            if not merged:
                explicit.add(key)
            document.lines[child] = key_node.start_mark.line + 1
            mapping[key] = self._build(value_node, child, document, shared=shared or merged)
        return mapping

    def _pairs(
        self, node: yaml.MappingNode, path: Path_, document: Document, *, depth: int
    ) -> list[tuple[yaml.Node, yaml.Node, bool]]:
        """Return (key, value, merged) pairs: explicit ones first, then each merge in order."""
        if depth > MAX_DEPTH:
            raise _Refused(
                path,
                f"merge keys (`<<`) nest deeper than {MAX_DEPTH} levels",
                "Merge fewer levels of anchors",
            )
        pairs: list[tuple[yaml.Node, yaml.Node, bool]] = []
        merges: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append((key_node, value_node))
            else:
                pairs.append((key_node, value_node, depth > 0))
        for key_node, value_node in merges:
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for source in sources:
                if not isinstance(source, yaml.MappingNode) or source.tag != _MAP:
                    self._problem(
                        (*path, "<<"),
                        key_node.start_mark.line + 1,
                        "`<<` merges mappings only",
                        "Write `<<: *anchor` or `<<: [*one, *two]` with anchors of mappings",
                    )
                    continue
                for key, value, _ in self._pairs(source, path, document, depth=depth + 1):
                    self._alias_use = self._alias_use or path
                    self._count(path)
                    pairs.append((key, value, True))
        return pairs

    def _count(self, path: Path_) -> None:
        """Count one value reached through an alias or a merge; refuse past the budget."""
        self._expanded += 1
        if self._expanded > MAX_ALIAS_NODES:
            raise _Refused(
                self._alias_use or path,
                f"aliases expand to more than {MAX_ALIAS_NODES:,} values",
                "Write the values out, or use fewer nested aliases (`*name`)",
            )

    def _key(self, node: yaml.Node, path: Path_, document: Document) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self._problem(
                path,
                node.start_mark.line + 1,
                "a key must be a plain name, not a list or mapping",
                "Write the key as a string",
            )
            return None
        key = self._scalar(node, path, document, substitute=False)
        return key if isinstance(key, str) else str(key)

    def _scalar(
        self, node: yaml.ScalarNode, path: Path_, document: Document, *, substitute: bool = True
    ) -> Any:
        line = node.start_mark.line + 1
        tag = node.tag
        if tag == _STR:
            return self._substitute(node.value, path, line, document) if substitute else node.value
        if tag == _TIMESTAMP:
            return str(node.value)  # keep the text: timestamps are validated as RFC 3339 strings
        if tag not in _CONSTRUCTED:
            return self._bad_tag(node, path, document)
        if tag == _INT and len(node.value.lstrip("+-").replace("_", "")) > _MAX_INT_DIGITS:
            return self._out_of_range(path, line)
        try:
            value = self._constructor.construct_object(node)
        except (ValueError, KeyError, TypeError, IndexError, yaml.YAMLError):  # `!!int` alone
            self._problem(
                path,
                line,
                f"{f'`{node.value[:40]}`' if node.value else 'an empty value'} is not a valid "
                f"{_tag_name(tag)}",
                "Remove the tag, or write a value of that type",
            )
            return None
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not MIN_INT <= value <= MAX_INT
        ):
            return self._out_of_range(path, line)
        if isinstance(value, float) and not math.isfinite(value):
            self._problem(
                path,
                line,
                f"`{node.value[:40]}` is not a finite number (JSON and the vendors have no "
                "NaN or infinity)",
                "Write a finite number",
            )
            return None
        return value

    def _out_of_range(self, path: Path_, line: int) -> None:
        self._problem(
            path,
            line,
            "integer out of range: reconciler accepts 64-bit integers "
            f"({MIN_INT} to {MAX_INT}), as JSON parsers and the vendors do",
            "Use a smaller number",
        )

    def _bad_tag(self, node: yaml.Node, path: Path_, document: Document) -> None:
        del document
        name = _tag_name(node.tag)
        if node.tag == _TAG + "binary":
            message, fix = "`!!binary` values are not supported", "Write the value as text"
        elif node.tag.startswith(_TAG):
            message = f"YAML tag `{name}` is not supported (manifests are plain JSON-like YAML)"
            fix = "Remove the tag"
        else:
            message = f"unknown YAML tag `{name}` (reconciler resolves no custom tags)"
            fix = "Remove the tag, or quote the value if the `!` is part of it"
        self._problem(path, node.start_mark.line + 1, message, fix)

    def _substitute(self, text: str, path: Path_, line: int, document: Document) -> str:
        if "${" not in text:
            return text

        def replace(match: re.Match[str]) -> str:
            escaped, name = match.group(1), match.group(2)
            if escaped:
                return "${" + name + "}"
            document.sensitive.add(path)
            document.variables.setdefault(path, []).append(name)
            if not ENV_NAME.match(name):
                document.unresolved.add(path)
                self._problem(
                    path,
                    line,
                    f"`${{{name}}}` is not a valid variable reference",
                    "Use ${NAME} with letters, digits and underscores (write $${ for a literal ${)",
                )
                return ""
            value = self.environ.get(name)
            if value is None:
                document.unresolved.add(path)
                self._problem(
                    path,
                    line,
                    f"environment variable {name} is not set",
                    f"Export {name} before running reconciler",
                )
                return ""
            remember(value)  # the one place a value enters from the environment
            return value

        return ENV_REFERENCE.sub(replace, text)

    def _problem(
        self, path: Path_, line: int, message: str, fix: str, *, settled: bool = True
    ) -> None:
        """Report a problem at `path`; `settled`: no later check need speak of that value."""
        if settled and self._document is not None:
            self._document.unresolved.add(path)  # reported here: the schema need not repeat it
        problem = Problem(
            path=self.display, line=line, field=dotted(path), message=message, fix=fix
        )
        (self.held if self.hold(path) else self.problems).append(problem)
