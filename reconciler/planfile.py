"""Saved plans: `plan -out FILE` writes one, `apply FILE` applies it only if it is still true.

A plan file is the JSON plan plus what it was made from (per vendor: a fingerprint of the
live runs and each run's phase) and the options it was made with. It holds no secret and no
spec values: apply re-reads the manifests and the live state, plans again, and refuses when
anything differs, listing what changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jsonschema

from reconciler.errors import ConfigError, StalePlanError
from reconciler.live import LiveState
from reconciler.model import JSON, JSONObject, Plan, Vendor
from reconciler.outputs import write_atomically
from reconciler.render.json import FORMAT_VERSION, plan_document
from reconciler.secret import scrub

PLAN_SCHEMA = "plan.schema.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedPlan:
    """A plan file, parsed: what it planned, from what, with which options."""

    workspace: str
    changes: tuple[tuple[str, str, str, str], ...]  # (subject, action, spec hash, run id)
    prior: tuple[tuple[Vendor, str, tuple[tuple[str, str], ...]], ...]
    targets: tuple[str, ...]
    excludes: tuple[str, ...]
    # A guard's refusal, recorded so that apply refuses the file with the same message. The
    # allow flags are never read from the file: apply's own command line decides (docs/cli.md).
    refusal: str | None
    cost_refusal: str | None
    # What each create and replace was priced at, keyed (subject, action, spec hash): apply
    # FILE carries these over instead of asking the vendors again.
    prices: tuple[tuple[tuple[str, str, str], float | None], ...] = ()


def _prices(document: JSONObject) -> tuple[tuple[tuple[str, str, str], float | None], ...]:
    prices: list[tuple[tuple[str, str, str], float | None]] = []
    changes = document.get("changes")
    for item in changes if isinstance(changes, list) else []:
        if not isinstance(item, dict) or item.get("action") not in ("create", "replace"):
            continue
        cost = item.get("cost_usd")
        known = (
            float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None
        )
        key = (str(item.get("subject")), str(item.get("action")), str(item.get("spec_hash") or ""))
        prices.append((key, known))
    return tuple(prices)


def _change_keys(document: JSONObject) -> tuple[tuple[str, str, str, str], ...]:
    keys: list[tuple[str, str, str, str]] = []
    changes = document.get("changes")
    for item in changes if isinstance(changes, list) else []:
        if not isinstance(item, dict) or item.get("action") == "no-op":
            continue
        run = item.get("run")
        run_id = run.get("id") if isinstance(run, dict) else None
        keys.append(
            (
                str(item.get("subject")),
                str(item.get("action")),
                str(item.get("spec_hash") or ""),
                str(run_id or ""),
            )
        )
    return tuple(sorted(keys))


def write_plan_file(
    path: Path,
    plan: Plan,
    state: LiveState,
    *,
    targets: Sequence[str],
    excludes: Sequence[str],
    allow_mass_cancel: bool,
) -> None:
    """Write `plan` and what it was made from to `path`, whole or not at all.

    `allow_mass_cancel` is recorded for the reader's information only; a refused plan is
    written with its refusal, which `apply FILE` repeats. Secrets (values from `${ENV}`,
    such as a workspace) are masked, as in every output.
    """
    document = plan_document(plan)
    prior: dict[str, JSON] = {}
    for vendor in state.vendors:
        runs: dict[str, JSON] = dict(state.phases(vendor))
        prior[vendor.value] = {"fingerprint": state.fingerprint(vendor), "runs": runs}
    document["prior_state"] = prior
    document["options"] = {
        "targets": list(targets),
        "excludes": list(excludes),
        "allow_mass_cancel": allow_mass_cancel,
    }
    write_atomically(path, scrub(json.dumps(document, indent=2, sort_keys=True) + "\n"))


def _load_schema() -> JSONObject:
    text = resources.files("reconciler").joinpath("schemas", PLAN_SCHEMA).read_text("utf-8")
    schema: JSONObject = json.loads(text)
    return schema


def _field(error: jsonschema.ValidationError) -> str:
    """Return where in the file `error` is, as `options.targets` or `changes[0].run`."""
    where = ""
    for part in error.absolute_path:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where or "(the whole file)"


def _minor(version: str) -> int | None:
    major, _, minor = version.partition(".")
    if major != FORMAT_VERSION.partition(".")[0] or not minor.isdigit():
        return None
    return int(minor)


def read_plan_file(path: Path) -> SavedPlan:
    """Read a plan file written by `plan -out`; raise ConfigError naming the field if not one.

    The file is checked against schemas/plan.schema.json before anything in it is used: a
    hand-edited or truncated file is refused, never half-read.
    """
    again = "Make a new one with `reconciler plan -out FILE`"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the plan file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a plan file (not UTF-8 text). {again}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}:{exc.lineno}: not a plan file (invalid JSON: {exc.msg}). {again}"
        ) from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: not a plan file (not a JSON object). {again}")
    version = document.get("format_version")
    current = _minor(FORMAT_VERSION) or 0
    minor = _minor(version) if isinstance(version, str) else None
    if minor is None or minor > current:
        raise ConfigError(
            f"{path}: format_version: {version!r} is not a plan format this reconciler reads "
            f"(1.0 to {FORMAT_VERSION}). {again}"
        )
    if "prior_state" not in document or "options" not in document:
        raise ConfigError(
            f"{path}: this is JSON plan output, not a saved plan. "
            "Make one with `reconciler plan -out FILE`"
        )
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(_load_schema()).iter_errors(document)
    )
    if error is not None:
        raise ConfigError(f"{path}: {_field(error)}: {error.message}. {again}")
    prior: list[tuple[Vendor, str, tuple[tuple[str, str], ...]]] = []
    for name, entry in sorted(document["prior_state"].items()):
        try:
            vendor = Vendor(name)
        except ValueError as exc:
            raise ConfigError(
                f"{path}: prior_state.{name}: not a vendor reconciler knows. {again}"
            ) from exc
        runs = tuple(sorted((str(k), str(v)) for k, v in entry["runs"].items()))
        prior.append((vendor, str(entry["fingerprint"]), runs))
    options = document["options"]
    cost = document["cost"]
    return SavedPlan(
        workspace=str(document["workspace"]),
        changes=_change_keys(document),
        prior=tuple(prior),
        targets=tuple(str(t) for t in options["targets"]),
        excludes=tuple(str(t) for t in options["excludes"]),
        refusal=document["refusal"],
        cost_refusal=cost["refusal"],
        prices=_prices(document),
    )


def check_saved_plan(saved: SavedPlan, fresh: Plan, state: LiveState) -> None:
    """Raise StalePlanError unless `fresh` (planned now) is what `saved` promised."""
    if saved.workspace != scrub(fresh.workspace):  # a workspace from ${ENV} is saved masked
        raise ConfigError(
            f"the plan was made for workspace {saved.workspace!r}, "
            f"this is {scrub(fresh.workspace)!r}. "
            "Apply it from the repository it was made in"
        )
    problems: list[str] = []
    seen_vendors = set()
    for vendor, fingerprint, runs in saved.prior:
        seen_vendors.add(vendor)
        if vendor in state.vendors and state.fingerprint(vendor) == fingerprint:
            continue
        before = dict(runs)
        now = state.phases(vendor)
        for run_id in sorted(now.keys() - before.keys()):
            problems.append(f"{vendor.value}: run {run_id} appeared ({now[run_id]})")
        for run_id in sorted(before.keys() - now.keys()):
            problems.append(f"{vendor.value}: run {run_id} is no longer listed")
        for run_id in sorted(before.keys() & now.keys()):
            if before[run_id] != now[run_id]:
                problems.append(
                    f"{vendor.value}: run {run_id} went from {before[run_id]} to {now[run_id]}"
                )
        if not problems:
            problems.append(f"{vendor.value}: the labels of its runs changed")
    for vendor in state.vendors:
        if vendor not in seen_vendors:
            problems.append(f"{vendor.value}: the plan did not look at this vendor")
    fresh_keys = _change_keys(plan_document(fresh))
    if not problems and fresh_keys != saved.changes:
        gone = sorted(set(saved.changes) - set(fresh_keys))
        new = sorted(set(fresh_keys) - set(saved.changes))
        problems.extend(f"manifests changed: {a} {s} is no longer planned" for s, a, _, _ in gone)
        problems.extend(f"manifests changed: {a} {s} is now planned" for s, a, _, _ in new)
    if problems:
        raise StalePlanError(problems)
