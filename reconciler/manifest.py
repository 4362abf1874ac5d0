"""Files to validated resources: reconciler.yaml and the manifests, with `path:line` errors.

Every problem of every file is collected, then raised at once as a ManifestError (sorted by
file and line). YAML is composed into nodes first so each value keeps the line it came from;
`${NAME}` is replaced from the environment at that point and the paths of such values are
remembered, so no message ever echoes them. Validation is JSON Schema (`schemas/`), plus the
few rules a schema cannot say (Arize windows, duplicate addresses).
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from reconciler.discovery import Found, find_files, read_text
from reconciler.errors import ManifestError, Problem
from reconciler.model import (
    JSON,
    Address,
    Kind,
    Lifecycle,
    Resource,
    SourceLocation,
    Threshold,
    Vendor,
    canonical_json,
    parse_instant,
)
from reconciler.secret import Secret
from reconciler.yamlread import Document, Path_, Reader, dotted

API_VERSION = "reconciler/v1"
CONFIG_NAME = "reconciler.yaml"
SCHEMA_FILES = {
    Kind.BLAND_EVAL_RUN: "bland-eval-run.schema.json",
    Kind.ADALINE_EVALUATION: "adaline-evaluation.schema.json",
    Kind.ARIZE_TASK_RUN: "arize-task-run.schema.json",
}
CONFIG_SCHEMA = "reconciler.schema.json"
DEFAULT_MANIFESTS = ("*.yaml", "*.yml")
ARIZE_MAX_WINDOW = timedelta(days=30)
# Paces a vendor will not punish (docs/apply.md): Adaline publishes 6,000 requests a minute;
# Bland and Arize publish none for these APIs.
DEFAULT_REQUESTS_PER_SECOND = {Vendor.BLAND: 50.0, Vendor.ADALINE: 100.0, Vendor.ARIZE: 50.0}


# --- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderConfig:
    """How to reach one vendor (`providers.<vendor>` in reconciler.yaml)."""

    vendor: Vendor
    api_key: Secret | None = None
    base_url: str | None = None  # None: the vendor's public API; "emulator": the embedded one
    max_concurrency: int = 8
    requests_per_second: float | None = None
    timeout_s: float = 30.0
    max_retries: int = 5
    owner_user_id: str | None = None  # Arize: the user whose runs this workspace owns
    task_ids: tuple[str, ...] = ()  # Arize: tasks to list for prune
    space_id: str | None = None  # Arize: list every task of this space for prune


@dataclass(frozen=True, slots=True, kw_only=True)
class Safety:
    """The guards of reconciler.yaml's `safety` block."""

    max_cancellations: int = 10
    max_cost_usd: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """A loaded reconciler.yaml."""

    path: Path
    root: Path
    workspace: str
    manifests: tuple[str, ...]
    default_manifests: bool = False  # `manifests:` was not given: every YAML file beside it
    providers: tuple[ProviderConfig, ...] = ()
    safety: Safety = field(default_factory=Safety)

    def provider(self, vendor: Vendor) -> ProviderConfig | None:
        """Return the settings of `vendor`, or None when reconciler.yaml has no block."""
        return next((p for p in self.providers if p.vendor is vendor), None)


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


# --- schema validation --------------------------------------------------------------------


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    text = resources.files("reconciler").joinpath("schemas", name).read_text(encoding="utf-8")
    schema = json.loads(text)
    validator_class = jsonschema.validators.validator_for(schema)
    validator: jsonschema.protocols.Validator = validator_class(schema)
    return validator


def _schema_problems(
    validator: jsonschema.protocols.Validator,
    document: Document,
    display: str,
    *,
    kind: str,
) -> list[Problem]:
    problems: dict[tuple[int, str, str], Problem] = {}
    for error in validator.iter_errors(document.value):
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
    shown = "" if secret else f", got {_show(error.instance)}"
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
                bounds = f"between {_show(low)} and {_show(high)}"
            elif low is not None:
                bounds = f"at least {_show(low)}" if "minimum" in schema else f"above {low}"
            else:
                bounds = f"at most {_show(high)}" if "maximum" in schema else f"below {high}"
            return f"must be {bounds}{shown}", f"Use a value {bounds}", path
        case "enum":
            choices = ", ".join(str(c) for c in validator_value)
            if path and path[-1] == "metric":
                return (
                    f"{kind} can never report metric {_show(error.instance)}",
                    f"Use one of {choices}, or a vendor field through `path:`",
                    path,
                )
            return f"must be one of {choices}{shown}", "Pick one of the listed values", path
        case "const":
            return (
                f"must be {_show(validator_value)}{shown}",
                f"Write {_show(validator_value)}",
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


def _show(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


# --- loading --------------------------------------------------------------------------------


def load_config(path: Path, *, environ: Mapping[str, str], offline: bool = False) -> Config:
    """Load and validate reconciler.yaml; raise ManifestError listing every problem.

    `offline` (validate) leaves the API keys that come from the environment unchecked: an
    unset, empty or malformed `${BLAND_API_KEY}` is reported only by the commands that call
    a vendor, so the pre-commit hook needs no keys.
    """
    path = path.resolve()
    display = str(path)
    if not path.exists() and not path.is_symlink():
        raise ManifestError(
            [
                Problem(
                    path=display,
                    line=0,
                    message=f"no {path.name} here",
                    fix="Run reconciler in the directory that holds it, or pass -C DIR / --config",
                )
            ]
        )
    text, unreadable = read_text(path, display)
    if text is None:
        raise ManifestError([unreadable] if unreadable else [])
    reader = Reader(display, environ, hold=_is_api_key)
    documents = reader.read(text)
    problems = list(reader.problems)
    if not problems and not documents:
        problems.append(
            Problem(path=display, line=0, message="is empty", fix="Start with `workspace: my-team`")
        )
    if not problems and len(documents) != 1:
        problems.append(
            Problem(
                path=display,
                line=documents[1].line if documents else 0,
                message="must hold exactly one YAML document",
                fix="Remove the other documents (manifests go in their own files)",
            )
        )
    if len(documents) != 1:
        raise ManifestError(problems)
    (document,) = documents
    if not isinstance(document.value, dict):
        raise ManifestError(
            [
                *problems,
                Problem(
                    path=display,
                    line=document.line,
                    message="must be a mapping with at least `workspace:`",
                    fix="Start with `workspace: my-team`",
                ),
            ]
        )
    # ${VAR} problems do not hide the rest: every problem of the file is reported at once.
    problems += _schema_problems(_validator(CONFIG_SCHEMA), document, display, kind="config")
    if not problems:
        problems += _api_key_problems(document, display, held=reader.held, offline=offline)
    elif not offline:
        problems += reader.held
    if problems:
        raise ManifestError(problems)
    value = document.value
    providers = tuple(
        _provider(Vendor(name), block)
        for name, block in sorted((value.get("providers") or {}).items())
    )
    safety = value.get("safety") or {}
    return Config(
        path=path,
        root=path.parent,
        workspace=value["workspace"],
        manifests=tuple(value.get("manifests") or DEFAULT_MANIFESTS),
        default_manifests=not value.get("manifests"),
        providers=providers,
        safety=Safety(
            max_cancellations=safety.get("max_cancellations", 10),
            max_cost_usd=safety.get("max_cost_usd"),
        ),
    )


def _is_api_key(path: Path_) -> bool:
    return len(path) == 3 and path[0] == "providers" and path[2] == "api_key"


def _api_key_problems(
    document: Document, display: str, *, held: list[Problem], offline: bool
) -> list[Problem]:
    """Check each API key before any request: set, not empty, no whitespace or control char.

    Keys from the environment are checked only when not `offline`; a key written in the
    file is the file's own problem and is checked always. No message shows a key.
    """
    problems = [] if offline else list(held)
    reported = {p.field for p in problems}
    for name, block in sorted((document.value.get("providers") or {}).items()):
        key = block.get("api_key") if isinstance(block, dict) else None
        path: Path_ = ("providers", name, "api_key")
        if not isinstance(key, str) or dotted(path) in reported:
            continue
        names = document.variables.get(path, [])
        if names and offline:
            continue
        variables = " and ".join(names)
        message, fix = "", ""
        if not key and names:
            verb = "are" if len(names) > 1 else "is"
            message = (
                f"{variables} {verb} set but empty (GitHub Actions passes secrets as empty "
                "strings to workflows from forks)"
            )
            fix = "Set the secret, or run plan only where secrets are available"
        elif key and (flaw := _key_flaw(key)):
            subject = f"the value of {variables}" if names else "the key"
            message = f"{subject} {flaw}; no vendor accepts that in a header"
            fix = (
                f"Set {variables} to the key alone (`printf '%s' \"$KEY\"` writes no newline, "
                "`echo` does)"
                if names
                else "Remove it (better: read the key from the environment, `${NAME}`)"
            )
        if message:
            problems.append(
                Problem(
                    path=display,
                    line=document.line_of(path),
                    field=dotted(path),
                    message=message,
                    fix=fix,
                )
            )
    return problems


def _key_flaw(key: str) -> str | None:
    """Say what makes `key` unusable in an HTTP header, without showing any of it."""
    if key.endswith(("\n", "\r")):
        return "ends with a newline"
    if key != key.strip():
        return "starts or ends with whitespace"
    if any(unicodedata.category(c).startswith("C") for c in key):
        return "contains a control character"  # a tab or newline inside; spaces are legal
    if not key.isascii():
        return "contains a character that is not ASCII"
    return None


def _provider(vendor: Vendor, block: Mapping[str, Any]) -> ProviderConfig:
    key = block.get("api_key")
    return ProviderConfig(
        vendor=vendor,
        api_key=Secret(key) if key else None,
        base_url=block.get("base_url"),
        max_concurrency=block.get("max_concurrency", 8),
        # Absent: the vendor's default pace; an explicit null: no cap at all.
        requests_per_second=block.get("requests_per_second", DEFAULT_REQUESTS_PER_SECOND[vendor]),
        timeout_s=float(block.get("timeout_s", 30.0)),
        max_retries=block.get("max_retries", 5),
        owner_user_id=block.get("owner_user_id"),
        task_ids=tuple(block.get("task_ids") or ()),
        space_id=block.get("space_id"),
    )


def manifest_files(config: Config) -> tuple[list[Found], list[Problem]]:
    """Return the manifest files the config's globs match, and every path that is unreadable."""
    return find_files(config.root, config.manifests, skip=config.path)


def load_manifests(config: Config, *, environ: Mapping[str, str]) -> tuple[Resource, ...]:
    """Load every manifest the config names; raise ManifestError listing every problem.

    A path the globs reach but cannot read is a problem, never a skip: its resources would
    otherwise vanish from the desired state and their runs be planned as cancels.
    """
    files, problems = manifest_files(config)
    if not files and not problems:
        raise ManifestError(
            [
                Problem(
                    path=_display(config.path, config.root),
                    line=0,
                    field="manifests",
                    message=f"no manifest file matches {', '.join(config.manifests)}",
                    fix="Add a manifest, or fix the globs in `manifests:`",
                )
            ]
        )
    resources_: list[Resource] = []
    for file in files:
        text, unreadable = read_text(file.path, file.display)
        if text is None:
            problems += [unreadable] if unreadable else []
            continue
        loaded, found, declares = _parse(text, file.display, environ=environ)
        if found and not declares and config.default_manifests:
            found = [_foreign(min(found), file.display)]
        resources_ += loaded
        problems += found
    problems += _duplicates(resources_)
    if not resources_ and not problems:
        problems.append(
            Problem(
                path=_display(config.path, config.root),
                line=0,
                field="manifests",
                message="the manifest files declare no resource",
                fix="Add a document with `apiVersion: reconciler/v1` and a `kind:`",
            )
        )
    if problems:
        raise ManifestError(problems)
    return tuple(sorted(resources_, key=lambda r: r.address))


def _foreign(problem: Problem, display: str) -> Problem:
    """Add to a file's first problem that the default globs may have picked up a stranger."""
    hint = (
        f"; if {display} is not a manifest, list yours in `manifests:` in {CONFIG_NAME} to "
        "narrow the set (by default every *.yaml and *.yml beside it is read)"
    )
    return Problem(
        path=problem.path,
        line=problem.line,
        column=problem.column,
        field=problem.field,
        message=problem.message,
        fix=(problem.fix or "Fix it") + hint,
    )


def parse_manifest(
    text: str, display: str, *, environ: Mapping[str, str]
) -> tuple[list[Resource], list[Problem]]:
    """Parse one manifest file's text: the resources it declares and the problems it has."""
    resources_, problems, _ = _parse(text, display, environ=environ)
    return resources_, problems


def _parse(
    text: str, display: str, *, environ: Mapping[str, str]
) -> tuple[list[Resource], list[Problem], bool]:
    """Parse one file: its resources, its problems, and whether it looks like a manifest.

    A file that parses but none of whose documents names our apiVersion or one of our kinds
    is probably not a manifest (docker-compose.yaml beside reconciler.yaml).
    """
    reader = Reader(display, environ)
    documents = reader.read(text)
    problems = list(reader.problems)
    kinds = {k.value for k in Kind}
    declares = not documents or any(
        isinstance(d.value, dict)
        and (d.value.get("apiVersion") == API_VERSION or d.value.get("kind") in kinds)
        for d in documents
    )
    resources_: list[Resource] = []
    for document in documents:
        resource, found = _resource(document, display)
        problems += found
        if resource is not None and not found:
            resources_.append(resource)
    if problems:
        return [], problems, declares
    return resources_, problems, declares


def _resource(document: Document, display: str) -> tuple[Resource | None, list[Problem]]:
    value = document.value
    if not isinstance(value, dict):
        return None, [
            Problem(
                path=display,
                line=document.line,
                message="a manifest document must be a mapping",
                fix="Start it with `apiVersion: reconciler/v1` and `kind:`",
            )
        ]
    if {("apiVersion",), ("kind",)} & document.unresolved:
        return None, []  # the reader has reported the value (an unset ${VAR}, a tag)
    api_version = value.get("apiVersion")
    if api_version != API_VERSION:
        if api_version is None:
            shown = "missing"
        elif document.is_sensitive(("apiVersion",)):
            shown = "(from the environment) is not known"
        else:
            shown = f"`{_show(api_version)}` is not known"
        return None, [
            Problem(
                path=display,
                line=document.line_of(("apiVersion",)),
                field="apiVersion",
                message=f"apiVersion {shown}",
                fix=f"Write `apiVersion: {API_VERSION}`",
            )
        ]
    try:
        kind = Kind(str(value.get("kind")))
    except ValueError:
        known = ", ".join(k.value for k in Kind)
        close = difflib.get_close_matches(str(value.get("kind")), [k.value for k in Kind], n=1)
        if document.is_sensitive(("kind",)):
            close = []
        return None, [
            Problem(
                path=display,
                line=document.line_of(("kind",)),
                field="kind",
                message=(
                    "kind missing"
                    if value.get("kind") is None
                    else "unknown kind (from the environment)"
                    if document.is_sensitive(("kind",))
                    else f"unknown kind {_show(value.get('kind'))}"
                ),
                fix=f"Did you mean {close[0]}?" if close else f"Use one of {known}",
            )
        ]
    problems = _schema_problems(_validator(SCHEMA_FILES[kind]), document, display, kind=kind.value)
    if problems:
        return None, problems
    problems = _rules(kind, document, display)
    if problems or document.unresolved:
        return None, problems  # values the reader refused are missing: build nothing
    return _build(kind, document, display), []


def _rules(kind: Kind, document: Document, display: str) -> list[Problem]:
    """Check what the schemas cannot say."""
    problems: list[Problem] = []
    spec = document.value["spec"]
    rerun_after = (document.value.get("lifecycle") or {}).get("rerun_after")
    if rerun_after is not None:
        problems += _instant_problem(document, display, ("lifecycle", "rerun_after"), rerun_after)
    if kind is Kind.ARIZE_TASK_RUN and "data_start_time" in spec:
        start_problem = _instant_problem(
            document, display, ("spec", "data_start_time"), spec["data_start_time"]
        )
        end_problem = _instant_problem(
            document, display, ("spec", "data_end_time"), spec["data_end_time"]
        )
        problems += start_problem + end_problem
        if not start_problem and not end_problem:
            start = parse_instant(spec["data_start_time"])
            end = parse_instant(spec["data_end_time"])
            path = ("spec", "data_end_time")
            if end <= start:
                problems.append(
                    Problem(
                        path=display,
                        line=document.line_of(path),
                        field=dotted(path),
                        message="the window ends before it starts",
                        fix="Make data_end_time later than data_start_time",
                    )
                )
            elif end - start > ARIZE_MAX_WINDOW:
                problems.append(
                    Problem(
                        path=display,
                        line=document.line_of(path),
                        field=dotted(path),
                        message="the window is longer than Arize's 30 days",
                        fix="Split it into windows of at most 30 days",
                    )
                )
    for n, threshold in enumerate(document.value.get("thresholds") or []):
        if threshold.get("confidence") is not None and threshold.get("path") is not None:
            where: Path_ = ("thresholds", n, "confidence")
            problems.append(
                Problem(
                    path=display,
                    line=document.line_of(where),
                    field=dotted(where),
                    message="confidence applies to rate metrics, not to a `path`",
                    fix="Use it with `metric: pass_rate_pct` or `error_rate_pct`",
                )
            )
    return problems


def _instant_problem(
    document: Document, display: str, path: tuple[str, str], value: object
) -> list[Problem]:
    try:
        parse_instant(str(value))
    except OverflowError:
        return [
            Problem(
                path=display,
                line=document.line_of(path),
                field=dotted(path),
                message="is out of range once converted to UTC",
                fix="Use a time between the years 0001 and 9999",
            )
        ]
    except ValueError:
        shown = "" if document.is_sensitive(path) else f", got {_show(value)}"
        return [
            Problem(
                path=display,
                line=document.line_of(path),
                field=dotted(path),
                message=f"must be an RFC 3339 time with a time zone{shown}",
                fix='Write it like "2026-11-01T00:00:00Z"',
            )
        ]
    return []


def _build(kind: Kind, document: Document, display: str) -> Resource:
    value = document.value
    spec: dict[str, JSON] = value["spec"]
    lifecycle = value.get("lifecycle") or {}
    triggers = lifecycle.get("triggers") or {}
    rerun_after = lifecycle.get("rerun_after")
    sensitive = frozenset(  # spec paths without `spec.`; triggers as `lifecycle.triggers.NAME`
        dotted(path[1:]) if path[0] == "spec" else dotted(path)
        for path in document.sensitive
        if path and (path[0] == "spec" or path[:2] == ("lifecycle", "triggers"))
    )
    return Resource.build(
        address=Address(kind, value["metadata"]["name"]),
        spec=spec,
        lifecycle=Lifecycle(
            protect=bool(lifecycle.get("protect", False)),
            adopt=bool(lifecycle.get("adopt", False)),
            max_attempts=int(lifecycle.get("max_attempts", 3)),
            triggers=tuple(sorted((k, canonical_json(v)) for k, v in triggers.items())),
            rerun_after=_instant(rerun_after),
        ),
        thresholds=tuple(_threshold(t) for t in value.get("thresholds") or ()),
        source=SourceLocation(path=display, line=document.line),
        sensitive_paths=sensitive,
    )


def _instant(value: object) -> datetime | None:
    return None if value is None else parse_instant(str(value))


def _threshold(value: Mapping[str, Any]) -> Threshold:
    return Threshold(
        metric=value.get("metric"),
        path=value.get("path"),
        min=value.get("min"),
        max=value.get("max"),
        equals=value.get("equals"),
        confidence=value.get("confidence"),
    )


def _duplicates(resources_: Iterable[Resource]) -> Iterator[Problem]:
    seen: dict[Address, Resource] = {}
    for resource in sorted(resources_, key=lambda r: r.source):
        first = seen.setdefault(resource.address, resource)
        if first is not resource:
            yield Problem(
                path=resource.source.path,
                line=resource.source.line,
                field="metadata.name",
                message=f"{resource.address} is already declared at {first.source}",
                fix="Give one of them another name",
            )
