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
from pathlib import Path

from reconciler.errors import ConfigError, StalePlanError
from reconciler.live import LiveState
from reconciler.model import JSON, JSONObject, Plan, Vendor
from reconciler.render.json import FORMAT_VERSION, plan_document


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedPlan:
    """A plan file, parsed: what it planned, from what, with which options."""

    workspace: str
    changes: tuple[tuple[str, str, str, str], ...]  # (subject, action, spec hash, run id)
    prior: tuple[tuple[Vendor, str, tuple[tuple[str, str], ...]], ...]
    targets: tuple[str, ...]
    excludes: tuple[str, ...]
    allow_mass_cancel: bool


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
    """Write `plan` and what it was made from to `path`."""
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
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_plan_file(path: Path) -> SavedPlan:
    """Read a plan file written by `plan -out`; raise ConfigError when it is not one."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the plan file: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}:{exc.lineno}: not a plan file (invalid JSON). "
            "Pass a file written by `reconciler plan -out FILE`"
        ) from exc
    if not isinstance(document, dict) or document.get("format_version") != FORMAT_VERSION:
        raise ConfigError(
            f"{path}: not a plan file of format {FORMAT_VERSION}. "
            "Make a new one with `reconciler plan -out FILE`"
        )
    prior_doc = document.get("prior_state")
    options = document.get("options")
    if not isinstance(prior_doc, dict) or not isinstance(options, dict):
        raise ConfigError(
            f"{path}: this is JSON plan output, not a saved plan. "
            "Make one with `reconciler plan -out FILE`"
        )
    prior: list[tuple[Vendor, str, tuple[tuple[str, str], ...]]] = []
    for name, entry in sorted(prior_doc.items()):
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: prior_state.{name} is malformed. Plan again")
        runs = entry.get("runs")
        pairs = (
            tuple(sorted((str(k), str(v)) for k, v in runs.items()))
            if isinstance(runs, dict)
            else ()
        )
        try:
            vendor = Vendor(name)
        except ValueError as exc:
            raise ConfigError(f"{path}: prior_state names unknown vendor {name!r}") from exc
        prior.append((vendor, str(entry.get("fingerprint")), pairs))
    return SavedPlan(
        workspace=str(document.get("workspace")),
        changes=_change_keys(document),
        prior=tuple(prior),
        targets=tuple(str(t) for t in options.get("targets") or []),
        excludes=tuple(str(t) for t in options.get("excludes") or []),
        allow_mass_cancel=bool(options.get("allow_mass_cancel")),
    )


def check_saved_plan(saved: SavedPlan, fresh: Plan, state: LiveState) -> None:
    """Raise StalePlanError unless `fresh` (planned now) is what `saved` promised."""
    if saved.workspace != fresh.workspace:
        raise ConfigError(
            f"the plan was made for workspace {saved.workspace!r}, this is {fresh.workspace!r}. "
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
