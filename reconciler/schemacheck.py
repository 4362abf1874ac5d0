"""A JSON Schema (2020-12) checker that only says yes or no, compiled once, in plain Python.

reconciler.validation asks this first: a document it accepts has no schema error, and
jsonschema (slow to import and about ten times slower per document) is asked only about the
rest, for the words of its errors. `compile_schema` knows the keywords the shipped schemas
use and declines (returns None) a schema with any other keyword, a remote `$ref`, a nested
`$id` or another draft; every keyword follows jsonschema's own rules (`bool` is neither an
integer nor a number, `1.0` is an integer, `1 == 1.0` but `True != 1` for const, enum and
uniqueItems, `pattern` is `re.search`, `format` asserts nothing). tests/test_schemacheck.py
holds it to jsonschema's answer, document by document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# Keywords that assert nothing (format too: jsonschema checks it only with a format checker).
_ANNOTATIONS = frozenset(
    {"$comment", "$defs", "$schema", "title", "description", "default", "examples", "format"}
)
_ANNOTATIONS |= {"deprecated", "readOnly", "writeOnly", "then", "else"}  # then, else: see `if`


class _Declined(Exception):
    """The schema uses something this checker does not know: jsonschema checks everything."""


def compile_schema(schema: Mapping[str, Any]) -> Check | None:
    """Return a check of documents against `schema`, or None if it uses what is not known."""
    if schema.get("$schema", DRAFT) != DRAFT:
        return None
    try:
        return _Compiler(schema).compile(schema, root=True)
    except _Declined:
        return None


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


_TYPES: dict[str, Check] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "number": _is_number,
    "integer": lambda x: _is_number(x) and (isinstance(x, int) or x.is_integer()),
}


def equal(one: Any, two: Any) -> bool:
    """JSON equality as jsonschema has it: `1 == 1.0`, `True != 1`, lists and maps deeply."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list | tuple) and isinstance(two, list | tuple):
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return len(one) == len(two) and all(k in two and equal(v, two[k]) for k, v in one.items())
    if isinstance(one, bool) or isinstance(two, bool):
        return False  # `one is two` above: equal booleans are the same object
    return bool(one == two)


def _unique(items: list[Any]) -> bool:
    if all(isinstance(item, str) for item in items):
        return len(set(items)) == len(items)
    return not any(equal(a, b) for n, a in enumerate(items) for b in items[n + 1 :])


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def compile(self, schema: Any, *, root: bool = False) -> Check:
        if schema is True:
            return lambda x: True
        if schema is False:
            return lambda x: False
        if not isinstance(schema, dict) or ("$id" in schema and not root):
            raise _Declined
        checks = [
            self.keyword(name, value, schema)
            for name, value in schema.items()
            if name not in _ANNOTATIONS and name != "$id"
        ]
        if len(checks) == 1:
            return checks[0]
        return lambda x: all(check(x) for check in checks)

    def keyword(self, name: str, value: Any, schema: dict[str, Any]) -> Check:
        """One keyword's check; every check but `type` passes values of other types."""
        match name:
            case "type":
                names = [value] if isinstance(value, str) else value
                if not set(names) <= _TYPES.keys():
                    raise _Declined
                wanted = [_TYPES[t] for t in names]
                return wanted[0] if len(wanted) == 1 else lambda x: any(t(x) for t in wanted)
            case "properties":
                subs = [(key, self.compile(sub)) for key, sub in value.items()]
                return lambda x: (
                    not isinstance(x, dict) or all(check(x[key]) for key, check in subs if key in x)
                )
            case "additionalProperties":
                if "patternProperties" in schema:
                    raise _Declined
                known = frozenset(schema.get("properties", ()))
                if value is False:
                    return lambda x: not isinstance(x, dict) or x.keys() <= known
                extra = self.compile(value)
                return lambda x: (
                    not isinstance(x, dict) or all(extra(v) for k, v in x.items() if k not in known)
                )
            case "required":
                return lambda x: not isinstance(x, dict) or all(key in x for key in value)
            case "dependentRequired":
                pairs = list(value.items())
                return lambda x: (
                    not isinstance(x, dict)
                    or all(all(need in x for need in needs) for key, needs in pairs if key in x)
                )
            case "dependentSchemas":
                dependents = [(key, self.compile(sub)) for key, sub in value.items()]
                return lambda x: (
                    not isinstance(x, dict)
                    or all(check(x) for key, check in dependents if key in x)
                )
            case "propertyNames":
                names = self.compile(value)
                return lambda x: not isinstance(x, dict) or all(names(k) for k in x)
            case "items":
                if "prefixItems" in schema:
                    raise _Declined
                item = self.compile(value)
                return lambda x: not isinstance(x, list) or all(item(i) for i in x)
            case "minItems":
                return lambda x: not isinstance(x, list) or len(x) >= value
            case "maxItems":
                return lambda x: not isinstance(x, list) or len(x) <= value
            case "uniqueItems":
                return lambda x: not value or not isinstance(x, list) or _unique(x)
            case "minLength":
                return lambda x: not isinstance(x, str) or len(x) >= value
            case "maxLength":
                return lambda x: not isinstance(x, str) or len(x) <= value
            case "pattern":
                search = re.compile(value).search
                return lambda x: not isinstance(x, str) or search(x) is not None
            case "minimum":
                return lambda x: not _is_number(x) or x >= value
            case "maximum":
                return lambda x: not _is_number(x) or x <= value
            case "exclusiveMinimum":
                return lambda x: not _is_number(x) or x > value
            case "exclusiveMaximum":
                return lambda x: not _is_number(x) or x < value
            case "const":
                return lambda x: equal(x, value)
            case "enum":
                if all(isinstance(v, str) for v in value):
                    strings = frozenset(value)
                    return lambda x: isinstance(x, str) and x in strings
                return lambda x: any(equal(x, v) for v in value)
            case "anyOf" | "allOf" | "oneOf":
                branches = [self.compile(sub) for sub in value]
                if name == "anyOf":
                    return lambda x: any(branch(x) for branch in branches)
                if name == "allOf":
                    return lambda x: all(branch(x) for branch in branches)
                return lambda x: sum(1 for branch in branches if branch(x)) == 1
            case "not":
                negated = self.compile(value)
                return lambda x: not negated(x)
            case "if":
                condition = self.compile(value)
                then = self.compile(schema.get("then", True))
                otherwise = self.compile(schema.get("else", True))
                return lambda x: then(x) if condition(x) else otherwise(x)
            case "$ref":
                return self.ref(value)
        raise _Declined

    def ref(self, ref: Any) -> Check:
        """A `#...` reference into this schema, compiled once (it may refer to itself)."""
        if not isinstance(ref, str) or not ref.startswith("#") or "%" in ref:
            raise _Declined
        if ref not in self.refs:
            target: Any = self.root
            for part in filter(None, ref[1:].split("/")):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise _Declined
                target = target[part]
            compiled: list[Check] = []
            self.refs[ref] = lambda x: compiled[0](x)
            compiled.append(self.compile(target, root=target is self.root))
        return self.refs[ref]
