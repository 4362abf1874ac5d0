"""JSON Schema validation of a composed YAML document, worded for people, `path:line` each.

A document is first checked by reconciler.schemacheck (compiled once per schema, plain
Python): one it accepts has no error, and jsonschema is neither imported nor asked. For the
rest every error is collected (`iter_errors`), placed at the line of its YAML node, and said
as what is wrong and the fix; `best_match` is used only inside an anyOf/oneOf. A value that
came from the environment is never echoed.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from reconciler.errors import Problem
from reconciler.schemacheck import Check, compile_schema
from reconciler.yamlread import Document, dotted

if TYPE_CHECKING:  # imported when a document has errors: `validate` must start fast
    import jsonschema
    from jsonschema.exceptions import ValidationError


@cache
def validator(name: str) -> jsonschema.protocols.Validator:
    """Return the validator of the schema file `name` shipped in `schemas/` (read once)."""
    import jsonschema

    schema = json.loads(_schema_text(name))
    validator_class = jsonschema.validators.validator_for(schema)
    validator: jsonschema.protocols.Validator = validator_class(schema)
    return validator


@cache
def quick_check(name: str) -> Check:
    """Return the yes-or-no check of the schema file `name`; if it cannot, one that says no."""
    check = compile_schema(json.loads(_schema_text(name)))
    return check if check is not None else lambda value: False


@cache
def instant_fields(name: str) -> tuple[str, ...]:
    """Return the spec fields the schema `name` declares as `format: date-time`, sorted."""
    spec = json.loads(_schema_text(name)).get("properties", {}).get("spec", {})
    found: set[str] = set()

    def walk(node: object) -> None:  # the spec's own fields and those of its branches
        if not isinstance(node, dict):
            return
        for key, value in (node.get("properties") or {}).items():
            if isinstance(value, dict) and value.get("format") == "date-time":
                found.add(key)
        for branch in ("oneOf", "anyOf", "allOf"):
            for sub in node.get(branch) or ():
                walk(sub)

    walk(spec)
    return tuple(sorted(found))


def _schema_text(name: str) -> str:
    return resources.files("reconciler").joinpath("schemas", name).read_text(encoding="utf-8")


def schema_problems(schema: str, document: Document, display: str, *, kind: str) -> list[Problem]:
    """Return every problem of `document` against the schema file `schema`, one per line."""
    if quick_check(schema)(document.value):
        return []  # the common case: a valid document, no jsonschema
    problems: dict[tuple[int, str, str], Problem] = {}
    for error in validator(schema).iter_errors(document.value):
        if tuple(error.absolute_path) in document.unresolved:
            continue  # already reported as an unset or invalid ${...}
        chosen = _branch_error(error) if error.validator in ("anyOf", "oneOf") else error
        path = list(chosen.absolute_path)
        if chosen is error and error.validator in ("anyOf", "oneOf"):
            message, fix = _alternatives(error)
        else:
            message, fix, path = _explain(chosen, path, document, kind=kind)
        line = document.line_of(path)
        problem = Problem(path=display, line=line, field=dotted(path), message=message, fix=fix)
        problems.setdefault((line, problem.field, message), problem)
    return list(problems.values())


def _branch_error(error: ValidationError) -> ValidationError:
    """Pick the error of the anyOf/oneOf branch the user most likely meant.

    Returns `error` itself when every branch only lacks a required field (or, for oneOf,
    when several branches match), so that the caller can name the alternatives.
    """
    if not error.context:
        return error
    if all(e.validator == "required" and not e.path for e in error.context):
        return error
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(int(sub.schema_path[0]), []).append(sub)
    subschemas = error.validator_value if isinstance(error.validator_value, list) else []
    instance = error.instance if isinstance(error.instance, dict) else {}
    required = [set(s.get("required", ())) if isinstance(s, dict) else set() for s in subschemas]
    common = set.intersection(*required) if required else set()

    def rank(item: tuple[int, list[ValidationError]]) -> tuple[int, int, int]:
        n, errors = item
        present = len((required[n] - common) & set(instance))
        shallow = sum(1 for e in errors if e.validator == "required" and not e.path)
        return (-present, shallow, len(errors))

    from jsonschema.exceptions import best_match

    _, errors = min(branches.items(), key=rank)
    chosen: ValidationError = best_match(errors)
    return chosen


def _alternatives(error: ValidationError) -> tuple[str, str]:
    """Word an anyOf/oneOf whose branches differ only in required fields: (message, fix)."""
    subschemas = error.validator_value if isinstance(error.validator_value, list) else []
    required = [list(s.get("required", ())) if isinstance(s, dict) else [] for s in subschemas]
    common = set.intersection(*(set(r) for r in required)) if required else set()
    branches = [
        " and ".join(f"`{name}`" for name in names if name not in common) for names in required
    ]
    branches = [b for b in branches if b]
    if error.validator == "oneOf" and not error.context:
        together = " and ".join(branches)
        return f"{together} cannot be given together", "Keep one of them"
    if len(branches) > 2 and all(" and " not in b for b in branches):
        listed = f"{', '.join(branches[:-1])} or {branches[-1]}"
    else:
        listed = ", or ".join(branches) if len(branches) > 2 else " or ".join(branches)
    return f"needs {listed}", "Add one of them"


def _explain(
    error: ValidationError, path: list[str | int], document: Document, *, kind: str
) -> tuple[str, str, list[str | int]]:
    """Word a schema error for a person: (message, fix, field path); never echo a secret."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    validator_value: Any = error.validator_value
    secret = document.is_sensitive(path)
    shown = "" if secret else f", got {show(error.instance)}"
    if "propertyNames" in error.schema_path:
        name = error.instance if isinstance(error.instance, str) else "?"
        return (
            f"key `{name}` is reserved: `reconciler.` keys are the ownership labels",
            "Rename the key",
            [*path, name],
        )
    match error.validator:
        case "required":
            missing = re.search(r"'([^']+)' is a required property", error.message)
            name = missing.group(1) if missing else str(validator_value)
            return f"missing required field `{name}`", f"Add `{name}`", [*path, name]
        case "additionalProperties":
            known = sorted(schema.get("properties", {}))
            extra = (
                sorted(set(error.instance) - set(known)) if isinstance(error.instance, dict) else []
            )
            name = extra[0] if extra else "?"
            close = difflib.get_close_matches(name, known, n=1)
            fix = f"Did you mean `{close[0]}`?" if close else f"Known fields: {', '.join(known)}"
            return f"unknown field `{name}`", fix, [*path, name]
        case "type":
            wanted = (
                validator_value
                if isinstance(validator_value, str)
                else " or ".join(validator_value)
            )
            article = "an" if str(wanted)[0] in "aeiou" else "a"
            return f"must be {article} {wanted}{shown}", f"Write {article} {wanted}", path
        case "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum":
            low = schema.get("minimum", schema.get("exclusiveMinimum"))
            high = schema.get("maximum", schema.get("exclusiveMaximum"))
            if low is not None and high is not None:
                bounds = f"between {show(low)} and {show(high)}"
            elif low is not None:
                bounds = f"at least {show(low)}" if "minimum" in schema else f"above {low}"
            else:
                bounds = f"at most {show(high)}" if "maximum" in schema else f"below {high}"
            return f"must be {bounds}{shown}", f"Use a value {bounds}", path
        case "enum":
            choices = ", ".join(str(c) for c in validator_value)
            if path and path[-1] == "metric":
                return (
                    f"{kind} can never report metric {show(error.instance)}",
                    f"Use one of {choices}, or a vendor field through `path:`",
                    path,
                )
            return f"must be one of {choices}{shown}", "Pick one of the listed values", path
        case "const":
            return (
                f"must be {show(validator_value)}{shown}",
                f"Write {show(validator_value)}",
                path,
            )
        case "pattern":
            description = schema.get("description", "")
            fix = f"Expected: {description[0].lower()}{description[1:]}" if description else ""
            return f"has the wrong form{shown}", (fix or f"Match {validator_value}"), path
        case "minItems":
            return f"needs at least {validator_value} item(s)", "Add the missing items", path
        case "maxItems":
            count = len(error.instance) if isinstance(error.instance, list) else "?"
            return (
                f"has {count} items, at most {validator_value} allowed",
                f"Split it into resources of at most {validator_value}",
                path,
            )
        case "uniqueItems":
            return "has duplicate items", "Remove the duplicates", path
        case "minLength" | "maxLength":
            low, high = schema.get("minLength"), schema.get("maxLength")
            span = f"{low or 0} to {high}" if high is not None else f"at least {low}"
            return f"must be {span} characters long", f"Use {span} characters", path
        case "dependentRequired":
            # jsonschema reports the field that needs its partner at the object's path.
            found = re.search(r"'([^']+)' is a dependency of '([^']+)'", error.message)
            if found:
                partner, owner = found.groups()
                return (
                    f"`{owner}` needs `{partner}` too",
                    f"Add `{partner}` or remove `{owner}`",
                    [*path, owner],
                )
            return error.message, "", path
        case "not":
            names = validator_value.get("required") if isinstance(validator_value, dict) else None
            if names:
                listed = " and ".join(f"`{n}`" for n in names)
                return f"{listed} cannot be given together", "Keep one of them", path
            return "is not allowed here", "Remove it", path
        case _:
            message = error.message if not secret else "is not valid"
            return message, "See the schema in schemas/", path


def show(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."
