"""YAML text to composed nodes, by libyaml when it reads the text as PyYAML would.

reconciler.yamlread builds its Documents from these nodes. The nodes are composed by PyYAML's
own Python composer (with a nesting limit) whichever parser made the events, so the two paths
give the same nodes; tests/test_yaml_libyaml.py holds them to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import yaml

MAX_DEPTH = 64  # nesting of mappings and lists; real manifests use fewer than ten


class DepthError(yaml.MarkedYAMLError):
    """The composer met nesting deeper than MAX_DEPTH."""


class _Limited(yaml.composer.Composer):
    """PyYAML's composer with a nesting limit (it recurses once per level)."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH + 1:
                mark = self.peek_event().start_mark  # type: ignore[attr-defined]
                raise DepthError(
                    problem=f"nested deeper than {MAX_DEPTH} levels", problem_mark=mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Loader(_Limited, yaml.SafeLoader):
    """The pure-Python reader: its messages and columns are the ones users see."""


try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml: every text takes the pure-Python path
    _FastLoader: Callable[[str], _Limited] | None = None
else:

    class _CLoader(_Limited, CParser, yaml.resolver.Resolver):
        """libyaml's scanner and parser (in C, iterative) under the same Python composer.

        Only the events come from C: composing, the depth limit, aliases and tag resolution
        stay PyYAML's own, so a text libyaml reads gives the nodes the pure path gives.
        """

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            yaml.composer.Composer.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _FastLoader = _CLoader


def compose_each(text: str, *, fast: bool = True) -> Iterator[yaml.Node]:
    """Yield the node of each document of `text` as soon as it is composed.

    Raise yaml.YAMLError as PyYAML's own reader does. A valid text goes through libyaml when
    it is there (about 7x faster). On any error from it the text is read again by the
    pure-Python reader, whose messages, lines and columns are the ones reported (libyaml
    words its errors differently, and errors are rare); the documents already yielded are
    read again but not yielded twice.
    """
    done = 0
    if fast and _FastLoader is not None and _alike(text):
        try:
            for node in _nodes(_FastLoader(text)):
                yield node
                done += 1
            return
        except (yaml.YAMLError, ValueError):  # ValueError: text libyaml cannot encode
            pass
    for index, node in enumerate(_nodes(_Loader(text))):
        if index >= done:
            yield node


_HEADER_COMMENT = re.compile(r"[|>][-+0-9]*#")  # `key: |#note`


def _alike(text: str) -> bool:
    """Say whether libyaml reads `text` as PyYAML does, as far as is known (and tested).

    libyaml accepts what PyYAML refuses: a tab as a separator (`a:\tb`), a comment straight
    after a block scalar's header (`|#`), `?` inside a plain value in a flow collection
    (`[what? this]`), a byte-order mark after the start. Without a last line break the two
    put an empty value at the end on different lines. Such texts take the pure-Python path.
    """
    return (
        text.endswith("\n")
        and "\t" not in text
        and text.find("\ufeff", 1) < 0
        and ("?" not in text or ("[" not in text and "{" not in text))
        and _HEADER_COMMENT.search(text) is None
    )


def _nodes(loader: _Limited) -> Iterator[yaml.Node]:
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                yield node
    finally:
        loader.dispose()  # type: ignore[attr-defined]
