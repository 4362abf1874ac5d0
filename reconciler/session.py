"""The application layer: what one command does, between the command line and the core.

A `Session` loads reconciler.yaml and the manifests once, opens each provider once (and the
embedded emulator at most once, for every vendor whose `base_url` is `emulator`), and closes
them all when the command ends. The command line parses, calls a session, renders and maps
the outcome to an exit code; nothing here prints.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from reconciler.errors import ConfigError, ReconcilerError
from reconciler.secret import Secret, scrub

if TYPE_CHECKING:  # imported when used: `reconciler --help` must start fast
    from reconciler.apply import ApplyResult
    from reconciler.gates import StatusResult
    from reconciler.importer import ImportFilter, ImportResult
    from reconciler.live import LiveState
    from reconciler.manifest import Config, ProviderConfig
    from reconciler.model import LiveRun, Plan, PlanSettings, Resource, Vendor
    from reconciler.planfile import SavedPlan
    from reconciler.providers.base import Provider

from reconciler.embedded import EMULATOR, EMULATOR_DEMO_KEY, embedded_emulator

log = logging.getLogger(__name__)


Progress = Callable[["StatusResult"], None]


class Pricing(Enum):
    """When a plan asks the vendors for cost estimates (docs/performance.md)."""

    ALWAYS = "always"  # `plan`: the reviewer wants the cost
    BUDGET = "budget"  # `apply` without a saved plan: only when safety.max_cost_usd needs it
    NEVER = "never"  # `plan --no-cost`
    SAVED = "saved"  # `apply FILE`: the saved plan's prices are carried over (`replan`)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOptions:
    """What a plan is asked for: its scope and the safety overrides of this command line."""

    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    allow_mass_cancel: bool = False
    allow_cost: bool = False
    pricing: Pricing = Pricing.BUDGET  # `plan` asks for ALWAYS (or NEVER: --no-cost)


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """A plan and the live state it was made from (a saved plan records the latter)."""

    plan: Plan
    state: LiveState


class Session:
    """One command's config, manifests and open providers; use it as a context manager."""

    def __init__(self, *, config_path: Path, environ: Mapping[str, str]) -> None:
        self.config_path = config_path
        self.environ = environ
        self._stack = ExitStack()
        self._loaded: tuple[Config, tuple[Resource, ...]] | None = None
        self._providers: dict[Vendor, Provider] = {}
        self._emulator_url: str | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every provider, then stop the embedded emulator."""
        self._stack.close()

    # --- what the command reads --------------------------------------------------------

    def load(self, *, offline: bool = False) -> tuple[Config, tuple[Resource, ...]]:
        """Load reconciler.yaml and every manifest, once per session.

        `offline` (validate) leaves the API keys that come from the environment unchecked.
        """
        if self._loaded is None:
            from reconciler.manifest import load_config, load_manifests

            config = load_config(self.config_path, environ=self.environ, offline=offline)
            self._loaded = config, load_manifests(config, environ=self.environ)
        return self._loaded

    @property
    def config(self) -> Config:
        """Return the loaded reconciler.yaml."""
        return self.load()[0]

    def observe(self, resources: Sequence[Resource] | None = None) -> LiveState:
        """List the live runs at every vendor the manifests use or configure (rule 9)."""
        from reconciler.live import gather_live_state

        declared = self.load()[1] if resources is None else tuple(resources)
        return gather_live_state(self._open(declared), declared, workspace=self.config.workspace)

    def make_plan(self, options: PlanOptions) -> Planned:
        """Observe, plan and price: the plan `plan` shows and `apply` executes.

        `options.pricing` says whether to ask for estimates: never twice for one apply, and
        only when someone reads them (the reviewer, or the max_cost_usd guard).
        """
        from reconciler.cost import price_plan, unpriced
        from reconciler.plan import plan

        config, resources = self.load()
        state = self.observe()
        _check_globs(options, resources=resources, runs=state.runs)
        settings = _settings(config, options)
        planned = plan(resources, state.runs, settings=settings)
        budget = config.safety.max_cost_usd
        if options.pricing is Pricing.ALWAYS or (
            options.pricing is Pricing.BUDGET and budget is not None
        ):
            planned = price_plan(
                planned,
                self._open(resources),
                state.runs,
                max_cost_usd=budget,
                allow_cost=options.allow_cost,
            )
        elif options.pricing is Pricing.BUDGET:
            planned = unpriced(planned, "no safety.max_cost_usd to check them against")
        elif options.pricing is Pricing.NEVER:
            planned = unpriced(planned, "--no-cost")
        return Planned(plan=planned, state=state)

    def replan(
        self, saved: SavedPlan, *, allow_mass_cancel: bool, allow_cost: bool, guard: bool
    ) -> Planned:
        """Plan again as `saved` was made, and refuse it when the live state has moved on.

        With `guard` (apply), the safety overrides come from this command line, never from the
        file: a saved plan never widens what apply may do (docs/cli.md). The prices are the
        saved plan's: the vendors are not asked for the same estimates again, only (under
        safety.max_cost_usd) for those it does not know, as after `plan --no-cost`.
        """
        from reconciler.cost import carry_prices, price_plan
        from reconciler.planfile import check_saved_plan

        if guard and saved.refusal and not allow_mass_cancel:
            raise ConfigError(saved.refusal)
        if guard and saved.cost_refusal and not allow_cost:
            raise ConfigError(saved.cost_refusal)
        options = PlanOptions(
            targets=saved.targets,
            excludes=saved.excludes,
            allow_mass_cancel=allow_mass_cancel,
            allow_cost=allow_cost,
            pricing=Pricing.SAVED,
        )
        planned = self.make_plan(options)
        check_saved_plan(saved, planned.plan, planned.state)
        priced = carry_prices(planned.plan, dict(saved.prices))
        budget = self.config.safety.max_cost_usd
        if budget is not None:  # what the saved plan could not tell (or --no-cost) is asked now
            priced = price_plan(
                priced,
                self._open(self.load()[1]),
                planned.state.runs,
                max_cost_usd=budget,
                allow_cost=allow_cost,
                unknown_only=True,
            )
        return dataclasses.replace(planned, plan=priced)

    # --- what the command changes ------------------------------------------------------

    def apply(self, planned: Planned, *, stop: threading.Event) -> ApplyResult:
        """Execute `planned`, each vendor within its configured concurrency."""
        from reconciler.apply import apply_plan

        providers = self._open(self.load()[1])
        concurrency = {
            p.vendor: p.max_concurrency for p in self.config.providers if p.vendor in providers
        }
        return apply_plan(
            planned.plan,
            providers,
            concurrency=concurrency,
            listed_at=planned.state.listed_at,
            stop=stop,
        )

    def import_runs(self, only: ImportFilter) -> ImportResult:
        """`import`: list (and, at Bland, read in full) the runs no resource accounts for."""
        from reconciler.importer import import_runs
        from reconciler.model import Address, Kind, Resource, SourceLocation
        from reconciler.model import Lifecycle as Lc
        from reconciler.vendors.base import Vendor as V

        declared = self._declared_or_none()
        config = self.config
        providers = self._open(declared)
        settings = _settings(config, PlanOptions())
        runs: list[LiveRun] = []
        for vendor in sorted(providers):
            if only.vendors and vendor not in only.vendors:
                continue
            provider = providers[vendor]
            mine = [r for r in declared if r.vendor is vendor]
            if vendor is V.ADALINE:
                # Adaline lists evaluations per prompt: one resource per prompt id names it
                # (two made-up keys, so the list is not narrowed to one evaluator and dataset).
                mine += [
                    Resource.build(
                        address=Address(Kind.ADALINE_EVALUATION, f"import-{n}-{i}"),
                        spec={"promptId": prompt, "evaluatorId": f"-{i}", "datasetId": "-"},
                        lifecycle=Lc(),
                        source=SourceLocation(path="(import)", line=0),
                    )
                    for n, prompt in enumerate(only.prompt_ids)
                    for i in (1, 2)
                ]
            listed = provider.list_runs(mine)
            if vendor is V.BLAND:
                listed = self._read_in_full(provider, listed, declared, settings, only)
            runs += listed
        return import_runs(declared, runs, settings=settings, only=only)

    def _read_in_full(
        self,
        provider: Provider,
        listed: Sequence[LiveRun],
        declared: Sequence[Resource],
        settings: PlanSettings,
        only: ImportFilter,
    ) -> list[LiveRun]:
        """Read each Bland run a document may be written for: list items omit the calls and
        agents (bland.md 3.2). Runs of declared addresses and of other workspaces are not read."""
        from concurrent.futures import ThreadPoolExecutor

        from reconciler.model import LABEL_ADDRESS, LABEL_WORKSPACE, Vendor
        from reconciler.providers.deadline import in_context

        addresses = {str(r.address) for r in declared}
        addresses |= {str(a) for r in declared for a in r.lifecycle.moved_from}

        def worth_reading(run: LiveRun) -> bool:
            workspace = run.label(LABEL_WORKSPACE)
            if workspace is not None and workspace != settings.workspace:
                return False
            if workspace is not None and run.label(LABEL_ADDRESS) in addresses:
                return False
            if only.since is not None and run.created_at < only.since:
                return False
            statuses = {s.lower() for s in only.statuses}
            return run.phase.satisfies and (not statuses or run.status.lower() in statuses)

        chosen = [r for r in listed if worth_reading(r)]
        block = self.config.provider(Vendor.BLAND)
        workers = block.max_concurrency if block is not None else 4
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="read") as pool:
            full = {r.run_id: r for r in pool.map(in_context(provider.get_run), chosen)}
        return [full.get(r.run_id, r) for r in listed]

    def _declared_or_none(self) -> tuple[Resource, ...]:
        """Return the declared resources; none when the globs match no manifest yet."""
        from reconciler.errors import ManifestError
        from reconciler.manifest import load_config

        try:
            return self.load()[1]
        except ManifestError as error:
            if not all(p.field == "manifests" for p in error.problems):
                raise
        self._loaded = load_config(self.config_path, environ=self.environ), ()
        return ()

    def next_stage(self, options: PlanOptions, held: frozenset[str]) -> Planned | None:
        """`apply --wait`: plan again; return the creates of `held` stages now free to start.

        Only the creates the first plan held (and the user approved) are returned: anything
        else the new plan would do waits for the next apply. None when no held stage is free.
        """
        planned = self.make_plan(options)
        if planned.plan.cost_refusal:
            raise ConfigError(planned.plan.cost_refusal)
        free = tuple(c for c in planned.plan.changes if c.creates and c.subject in held)
        if not free:
            return None
        return Planned(plan=dataclasses.replace(planned.plan, changes=free), state=planned.state)

    def status(self, options: PlanOptions, *, timeout_s: float, progress: Progress) -> StatusResult:
        """Wait for the declared resources' runs in scope and judge their thresholds."""
        from reconciler.plan import scope_matcher

        _, resources = self.load()
        _check_globs(options, resources=resources, runs=None)
        in_scope = scope_matcher(options.targets, options.excludes)
        chosen = tuple(r for r in resources if in_scope(str(r.address)))
        result = self._wait(chosen, timeout_s=timeout_s, progress=progress)
        if timeout_s == 0:  # judged as they are, without waiting: active runs did not time out
            result = dataclasses.replace(result, timed_out=False)
        return result

    def history(self, glob: str | None) -> tuple[tuple[Resource, tuple[LiveRun, ...]], ...]:
        """Each declared resource matching `glob`, with its runs newest first (list pages only)."""
        from reconciler.live import gather_live_state
        from reconciler.plan import unmatched_globs
        from reconciler.scope import scope_matcher
        from reconciler.status import history_of

        config, resources = self.load()
        globs = (glob,) if glob else ()
        for unmatched in unmatched_globs(globs, resources=resources, runs=()):
            raise ConfigError(
                f"history {unmatched!r} matches no declared address. `reconciler history` without "
                "a glob lists them all (they look like BlandEvalRun/checkout-nightly)"
            )
        in_scope = scope_matcher(globs, ())
        chosen = tuple(r for r in resources if in_scope(str(r.address)))
        runs = gather_live_state(self._open(chosen), chosen, workspace=config.workspace).runs
        histories = history_of(chosen, runs, workspace=config.workspace)
        return tuple((r, histories[str(r.address)]) for r in chosen)

    def wait_for(self, plan: Plan, *, timeout_s: float, progress: Progress) -> StatusResult:
        """`apply --wait`: wait for the plan's resources and judge them, as `status` does."""
        chosen = {str(c.resource.address): c.resource for c in plan.changes if c.resource}
        return self._wait(tuple(chosen.values()), timeout_s=timeout_s, progress=progress)

    def _wait(
        self, resources: Sequence[Resource], *, timeout_s: float, progress: Progress
    ) -> StatusResult:
        from reconciler.scope import release_matcher
        from reconciler.status import baseline_resources, wait_and_judge

        # A released address is no longer managed: apply never creates its run, so it has no
        # gate to judge (judging it would report "run `reconciler apply`" for ever).
        released = release_matcher(self.config.release)
        resources = [r for r in resources if not released(str(r.address))]
        # A gate may compare with another resource's run, in scope or not (`--target`).
        baselines = baseline_resources(resources, self.load()[1])
        return wait_and_judge(
            resources,
            self._open([*resources, *baselines]),
            workspace=self.config.workspace,
            timeout_s=timeout_s,
            progress=progress,
            baselines=baselines,
        )

    # --- providers and the embedded emulator -------------------------------------------

    def _open(self, resources: Sequence[Resource]) -> dict[Vendor, Provider]:
        """Return the providers `resources` need (and every configured one), opening each once."""
        vendors = _vendors(self.config, resources)
        for vendor in vendors:
            if vendor not in self._providers:
                self._providers[vendor] = self._stack.enter_context(
                    closing(self._make_provider(vendor))
                )
        return {v: self._providers[v] for v in vendors}

    def _make_provider(self, vendor: Vendor) -> Provider:
        """Build `vendor`'s provider from its block of reconciler.yaml: the one place that does."""
        from reconciler.providers.registry import emulator_base_url, make_provider

        config = self.config
        settings: ProviderConfig | None = config.provider(vendor)
        if settings is None:
            raise ConfigError(f"{config.path}: providers.{vendor.value} is missing")
        base_url = settings.base_url
        api_key = settings.api_key
        if base_url == EMULATOR:
            base_url = emulator_base_url(vendor, self._emulator())
            api_key = api_key or Secret(EMULATOR_DEMO_KEY)
        if api_key is None or not api_key:
            raise ConfigError(
                f"{config.path}: providers.{vendor.value}.api_key is not set. "
                f'Set it, e.g. `api_key: "${{{vendor.value.upper()}_API_KEY}}"`, '
                "or use `base_url: emulator`"
            )
        return make_provider(dataclasses.replace(settings, base_url=base_url, api_key=api_key))

    def _emulator(self) -> str:
        """Return the embedded emulator's URL, starting it on first use (one per session)."""
        if self._emulator_url is None:
            self._emulator_url = self._stack.enter_context(
                embedded_emulator(self.config.root, self.environ)
            )
        return self._emulator_url


# --- the steps of a plan -----------------------------------------------------------------


def _vendors(config: Config, resources: Sequence[Resource]) -> tuple[Vendor, ...]:
    """Return the vendors to list: those the manifests use and those configured."""
    used = {r.vendor for r in resources}
    configured = {p.vendor for p in config.providers}
    missing = sorted(used - configured)
    if missing:
        names = ", ".join(v.value for v in missing)
        raise ConfigError(
            f"{config.path}: providers: no block for {names}, which the manifests use. "
            f"Add `providers: {{{missing[0].value}: {{api_key: ...}}}}` to reconciler.yaml"
        )
    return tuple(sorted(used | configured))


def _settings(config: Config, options: PlanOptions) -> PlanSettings:
    from reconciler.model import PlanSettings

    owners = tuple(
        (p.vendor, p.owner_user_id) for p in config.providers if p.owner_user_id is not None
    )
    return PlanSettings(
        workspace=config.workspace,
        now=datetime.now(UTC),
        owners=owners,
        max_cancellations=config.safety.max_cancellations,
        allow_mass_cancel=options.allow_mass_cancel,
        targets=options.targets,
        excludes=options.excludes,
        release=config.release,
    )


def _check_globs(
    options: PlanOptions, *, resources: Sequence[Resource], runs: Sequence[LiveRun] | None
) -> None:
    """Refuse a --target/--exclude glob that matches nothing: a typo must not read as No changes.

    `runs` is None where no live state was read (status judges declared resources only).
    """
    from reconciler.plan import unmatched_globs

    for option, globs in (("--target", options.targets), ("--exclude", options.excludes)):
        for glob in unmatched_globs(globs, resources=resources, runs=runs or ()):
            where = "declared address" + (" and no live run" if runs is not None else "")
            raise ConfigError(
                f"{option} {glob!r} matches no {where}. "
                "Check it against `reconciler plan -v` (addresses look like "
                "BlandEvalRun/checkout-nightly)"
            )


# --- a failed plan's comment, a saved plan -------------------------------------------------


def failed_plan_comment(
    error: ReconcilerError, *, config_path: Path, environ: Mapping[str, str]
) -> str:
    """Return the comment of a failed plan: its errors, scrubbed, under the workspace's marker."""
    from reconciler.ci import ci_run
    from reconciler.manifest import load_config
    from reconciler.render.comment import render_failed_plan_comment

    workspace: str | None = None
    text: str | None = None
    try:
        workspace = load_config(config_path, environ=environ).workspace
    except ReconcilerError:
        try:
            text = config_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
    return render_failed_plan_comment(
        [scrub(line) for line in error.lines() or [str(error)]],
        workspace=workspace,
        config_text=text,
        directory_name=config_path.parent.name,
        ci=ci_run(environ),
    )


def read_plan(path: Path) -> SavedPlan:
    """Read a saved plan (`plan -out`), checked against schemas/plan.schema.json."""
    from reconciler.planfile import read_plan_file

    return read_plan_file(path)
