"""Files to validated resources: reconciler.yaml and the manifests, with `path:line` errors.

Every problem of every file is collected, then raised at once as a ManifestError (sorted by
file and line). YAML is composed into nodes first so each value keeps the line it came from;
`${NAME}` is replaced from the environment at that point and the paths of such values are
remembered, so no message ever echoes them. Validation is JSON Schema (`schemas/`), plus the
few rules a schema cannot say (Arize windows, duplicate addresses).
"""

from __future__ import annotations

import difflib
import glob
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError, best_match

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
from reconciler.secret import Secret, remember

API_VERSION = "reconciler/v1"
CONFIG_NAME = "reconciler.yaml"
SCHEMA_FILES = {
    Kind.BLAND_EVAL_RUN: "bland-eval-run.schema.json",
    Kind.ADALINE_EVALUATION: "adaline-evaluation.schema.json",
    Kind.ARIZE_TASK_RUN: "arize-task-run.schema.json",
}
CONFIG_SCHEMA = "reconciler.schema.json"
ENV_REFERENCE = re.compile(r"\$(\$?)\{([^}]*)\}")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ARIZE_MAX_WINDOW = timedelta(days=30)
# Paces a vendor will not punish (docs/apply.md): Adaline publishes 6,000 requests a minute;
# Bland and Arize publish none for these APIs.
DEFAULT_REQUESTS_PER_SECOND = {Vendor.BLAND: 50.0, Vendor.ADALINE: 100.0, Vendor.ARIZE: 50.0}
_NULL_TAG = "tag:yaml.org,2002:null"

Path_ = tuple[str | int, ...]


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
    providers: tuple[ProviderConfig, ...] = ()
    safety: Safety = field(default_factory=Safety)

    def provider(self, vendor: Vendor) -> ProviderConfig | None:
        """Return the settings of `vendor`, or None when reconciler.yaml has no block."""
        return next((p for p in self.providers if p.vendor is vendor), None)


# --- YAML with lines and ${ENV} ------------------------------------------------------------


@dataclass(slots=True)
class _Document:
    """One YAML document: its value, the line of every path in it, and its ${ENV} paths."""

    value: Any
    line: int
    lines: dict[Path_, int] = field(default_factory=dict)
    sensitive: set[Path_] = field(default_factory=set)
    unresolved: set[Path_] = field(default_factory=set)  # ${...} that could not be replaced

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


class _Reader:
    """Turns YAML text into _Documents, collecting problems instead of raising."""

    def __init__(self, display: str, environ: Mapping[str, str]) -> None:
        self.display = display
        self.environ = environ
        self.problems: list[Problem] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def read(self, text: str) -> list[_Document]:
        try:
            nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = mark.line + 1 if mark else 0
            column = mark.column + 1 if mark else 0
            problem = (error.problem or error.context or "invalid YAML").rstrip(".")
            self.problems.append(
                Problem(
                    path=self.display,
                    line=line,
                    column=column,
                    message=f"YAML syntax error at column {column}: {problem}",
                    fix="Fix the YAML syntax (indentation, quotes, a missing ':')",
                )
            )
            return []
        except yaml.YAMLError as error:
            self.problems.append(
                Problem(path=self.display, line=0, message=f"invalid YAML: {error}")
            )
            return []
        documents = []
        for node in nodes:
            if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
                continue  # an empty document (a stray `---`) declares nothing
            document = _Document(value=None, line=node.start_mark.line + 1)
            document.value = self._build(node, (), document)
            documents.append(document)
        return documents

    def _build(self, node: yaml.Node, path: Path_, document: _Document) -> Any:
        document.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            mapping: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self._constructor.construct_object(key_node)
                if not isinstance(key, str):
                    key = str(key)
                child = (*path, key)
                if key in mapping:
                    self._problem(
                        document,
                        child,
                        key_node.start_mark.line + 1,
                        f"`{key}` is given twice",
                        "Keep one of them",
                    )
                document.lines[child] = key_node.start_mark.line + 1
                mapping[key] = self._build(value_node, child, document)
            return mapping
        if isinstance(node, yaml.SequenceNode):
            return [self._build(item, (*path, n), document) for n, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        if node.tag == "tag:yaml.org,2002:str":
            return self._substitute(node.value, path, node.start_mark.line + 1, document)
        if node.tag == "tag:yaml.org,2002:timestamp":
            return str(node.value)  # keep the text: timestamps are validated as RFC 3339 strings
        return self._constructor.construct_object(node)

    def _substitute(self, text: str, path: Path_, line: int, document: _Document) -> str:
        if "${" not in text:
            return text

        def replace(match: re.Match[str]) -> str:
            escaped, name = match.group(1), match.group(2)
            if escaped:
                return "${" + name + "}"
            document.sensitive.add(path)
            if not ENV_NAME.match(name):
                document.unresolved.add(path)
                self._problem(
                    document,
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
                    document,
                    path,
                    line,
                    f"environment variable {name} is not set",
                    f"Export {name} before running reconciler",
                )
                return ""
            remember(value)  # a value from the environment is never shown (secret.scrub)
            return value

        return ENV_REFERENCE.sub(replace, text)

    def _problem(self, document: _Document, path: Path_, line: int, message: str, fix: str) -> None:
        del document
        self.problems.append(
            Problem(path=self.display, line=line, field=_dotted(path), message=message, fix=fix)
        )


def _dotted(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


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
    document: _Document,
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
        problem = Problem(path=display, line=line, field=_dotted(path), message=message, fix=fix)
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
    error: ValidationError, path: list[str | int], document: _Document, *, kind: str
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


def load_config(path: Path, *, environ: Mapping[str, str]) -> Config:
    """Load and validate reconciler.yaml; raise ManifestError listing every problem."""
    path = path.resolve()
    display = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(
            [
                Problem(
                    path=display,
                    line=0,
                    message=f"no {path.name} here",
                    fix="Run reconciler in the directory that holds it, or pass -C DIR / --config",
                )
            ]
        ) from None
    except OSError as error:
        raise ManifestError(
            [Problem(path=display, line=0, message=f"cannot read it: {error.strerror}")]
        ) from None
    reader = _Reader(display, environ)
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
    if problems:
        raise ManifestError(problems)
    value = document.value
    providers = tuple(
        _provider(Vendor(name), block, document, (("providers", name)))
        for name, block in sorted((value.get("providers") or {}).items())
    )
    safety = value.get("safety") or {}
    return Config(
        path=path,
        root=path.parent,
        workspace=value["workspace"],
        manifests=tuple(value.get("manifests") or ("*.yaml", "*.yml")),
        providers=providers,
        safety=Safety(
            max_cancellations=safety.get("max_cancellations", 10),
            max_cost_usd=safety.get("max_cost_usd"),
        ),
    )


def _provider(
    vendor: Vendor, block: Mapping[str, Any], document: _Document, path: tuple[str, str]
) -> ProviderConfig:
    del document, path
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


def manifest_files(config: Config) -> list[Path]:
    """Return the manifest files the config's globs match, sorted, without reconciler.yaml."""
    found: set[Path] = set()
    for pattern in config.manifests:
        for name in glob.glob(pattern, root_dir=config.root, recursive=True):
            candidate = (config.root / name).resolve()
            if candidate.is_file() and candidate != config.path:
                found.add(candidate)
    return sorted(found)


def load_manifests(config: Config, *, environ: Mapping[str, str]) -> tuple[Resource, ...]:
    """Load every manifest the config names; raise ManifestError listing every problem."""
    files = manifest_files(config)
    if not files:
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
    problems: list[Problem] = []
    resources_: list[Resource] = []
    for file in files:
        display = _display(file, config.root)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(Problem(path=display, line=0, message=f"cannot read it: {error}"))
            continue
        loaded, found = parse_manifest(text, display, environ=environ)
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


def parse_manifest(
    text: str, display: str, *, environ: Mapping[str, str]
) -> tuple[list[Resource], list[Problem]]:
    """Parse one manifest file's text: the resources it declares and the problems it has."""
    reader = _Reader(display, environ)
    documents = reader.read(text)
    problems = list(reader.problems)
    resources_: list[Resource] = []
    for document in documents:
        resource, found = _resource(document, display)
        problems += found
        if resource is not None and not found:
            resources_.append(resource)
    if problems:
        return [], problems
    return resources_, problems


def _resource(document: _Document, display: str) -> tuple[Resource | None, list[Problem]]:
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
    if problems:
        return None, problems
    return _build(kind, document, display), []


def _rules(kind: Kind, document: _Document, display: str) -> list[Problem]:
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
                        field=_dotted(path),
                        message="the window ends before it starts",
                        fix="Make data_end_time later than data_start_time",
                    )
                )
            elif end - start > ARIZE_MAX_WINDOW:
                problems.append(
                    Problem(
                        path=display,
                        line=document.line_of(path),
                        field=_dotted(path),
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
                    field=_dotted(where),
                    message="confidence applies to rate metrics, not to a `path`",
                    fix="Use it with `metric: pass_rate_pct` or `error_rate_pct`",
                )
            )
    return problems


def _instant_problem(
    document: _Document, display: str, path: tuple[str, str], value: object
) -> list[Problem]:
    try:
        parse_instant(str(value))
    except ValueError:
        shown = "" if document.is_sensitive(path) else f", got {_show(value)}"
        return [
            Problem(
                path=display,
                line=document.line_of(path),
                field=_dotted(path),
                message=f"must be an RFC 3339 time with a time zone{shown}",
                fix='Write it like "2026-11-01T00:00:00Z"',
            )
        ]
    return []


def _build(kind: Kind, document: _Document, display: str) -> Resource:
    value = document.value
    spec: dict[str, JSON] = value["spec"]
    lifecycle = value.get("lifecycle") or {}
    triggers = lifecycle.get("triggers") or {}
    rerun_after = lifecycle.get("rerun_after")
    sensitive = frozenset(  # spec paths without `spec.`; triggers as `lifecycle.triggers.NAME`
        _dotted(path[1:]) if path[0] == "spec" else _dotted(path)
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
