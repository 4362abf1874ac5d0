"""reconciler.yaml to a validated `Config`: the workspace, the manifest globs, the providers.

Every problem is collected and raised at once as a ManifestError. API keys are checked here,
before any request, and never shown; `offline` (validate) leaves those from the environment
unchecked, so the pre-commit hook needs no keys.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.discovery import read_text
from reconciler.errors import ManifestError, Problem
from reconciler.model import Vendor
from reconciler.providers.config import ProviderConfig
from reconciler.validation import schema_problems
from reconciler.yamlread import Document, Path_, Reader, dotted

CONFIG_NAME = "reconciler.yaml"
CONFIG_SCHEMA = "reconciler.schema.json"
DEFAULT_MANIFESTS = ("*.yaml", "*.yml")


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
    release: tuple[str, ...] = ()  # address globs whose runs are never cancelled or replaced

    def provider(self, vendor: Vendor) -> ProviderConfig | None:
        """Return the settings of `vendor`, or None when reconciler.yaml has no block."""
        return next((p for p in self.providers if p.vendor is vendor), None)


def display_path(path: Path, root: Path) -> str:
    """Show `path` relative to `root` when it is below it."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


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
    problems += schema_problems(CONFIG_SCHEMA, document, display, kind="config")
    if not problems:
        problems += _api_key_problems(document, display, held=reader.held, offline=offline)
    elif not offline:
        problems += reader.held
    if problems:
        raise ManifestError(problems)
    value = document.value
    providers = tuple(
        ProviderConfig.from_block(Vendor(name), block)
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
        release=tuple(value.get("release") or ()),
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
