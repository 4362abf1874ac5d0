"""The fault-convergence promise, through the real CLI against a faulty emulator.

Every vendor answers 10 % 429s, 10 % 5xx, drops 5 % of connections and loses the answer of 5 %
of creates. Up to three `apply --auto-approve` runs must leave exactly one satisfying run per
declared resource, no duplicate, the orphans cancelled and nothing else touched, checked by
listing the vendors over plain HTTP (tests/e2e/world.py). benchmarks/reliability.py runs the
same world for hundreds of seeds.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from reconciler import emulator
from reconciler.apply import apply_plan
from reconciler.manifest import load_config, load_manifests
from reconciler.model import PlanSettings, Vendor
from reconciler.plan import plan
from reconciler.providers.bland import BlandProvider
from reconciler.providers.config import ProviderConfig
from reconciler.secret import Secret
from tests.e2e.world import BLAND_KEY, KEYS, WORKSPACE, World, repeated_429s

SEEDS = (1, 2, 3, 4)


@pytest.fixture
def make_world(tmp_path):
    worlds: list[World] = []

    def make(**options) -> World:
        world = World(tmp_path / f"w{len(worlds)}", **options)
        world.root.mkdir()
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.close()


@pytest.mark.parametrize("seed", SEEDS)
def test_three_applies_converge_under_faults_and_touch_nothing_else(make_world, seed):
    """One satisfying run per resource, no duplicate, orphans cancelled, the rest untouched."""
    world = make_world(seed=seed)
    report = world.converge(applies=3)
    verdict = report.verdict
    assert verdict is not None
    assert [] == report.crashes
    assert report.converged_after is not None, f"seed {seed}: {verdict.describe()}"
    assert all(1 == n for n in verdict.satisfying.values()), verdict.satisfying
    assert 9 == len(verdict.satisfying)
    assert 0 == verdict.duplicates
    assert () == verdict.orphans_left
    assert () == verdict.wrong_cancels, f"seed {seed}: cancelled {verdict.wrong_cancels}"
    assert 0 == report.leaks
    # The world is settled: with the faults off, the next plan has nothing to do.
    with world.calm():
        again = world.run("plan", "--detailed-exitcode")
    assert 0 == again.exit_code, again.stdout + again.stderr


def test_a_client_rate_limit_keeps_429s_from_repeating(make_world):
    """requests_per_second: 20 against 20/s per key: no request is refused twice in a row.

    Ten resources per vendor: an unpaced apply (8 requests at once per vendor) meets a few
    429s here; the server's own counters show that the pace held.
    """
    world = make_world(
        seed=5,
        faults=emulator.Faults(requests_per_second_per_key=20),
        per_vendor=10,
    )
    world.seed_world()
    world.configure(requests_per_second=20)
    world.server.faults = world.faults
    before = dict(world.server.requests)
    started = time.monotonic()
    result = world.apply()
    elapsed = time.monotonic() - started
    assert 0 == result.exit_code, result.stderr[-3000:]
    assert [] == repeated_429s(result.stderr)
    sent = {api: n - before.get(api, 0) for api, n in world.server.requests.items()}
    assert sum(sent.values()) > 50, sent  # enough load for an unpaced apply to see 429s
    for api in ("BlandApi", "AdalineApi", "ArizeApi"):  # one key each: within its limit
        assert sent[api] <= 20 * elapsed + 20, (api, sent[api], elapsed)
    verdict = world.verdict()
    assert all(1 == n for n in verdict.satisfying.values()), verdict.satisfying
    assert 30 == len(verdict.satisfying)
    assert 0 == world.leaks()


def test_no_key_leaks_with_debug_even_when_every_request_fails(make_world):
    """The canaries stay out of every output: plan, apply, and errors after every retry."""
    world = make_world(seed=6, provider_settings="max_retries: 1, timeout_s: 2")
    world.seed_world()
    world.configure()
    world.server.faults = emulator.Faults(rate_5xx=1.0)
    failed = world.apply()
    assert 1 == failed.exit_code
    world.server.faults = emulator.Faults(rate_429=0.3, drop_rate=0.1, lost_create_rate=0.3)
    world.run("plan", "-v")
    world.apply()
    outputs = world.log()
    assert "http method=GET" in outputs  # the --debug log is part of what is checked
    assert "Error: " in outputs
    for key in KEYS.values():
        assert key not in outputs
    assert 0 == world.leaks()
    assert [] == world.crashes()


class LostCreateThenLostLookup(httpx.BaseTransport):
    """The first create is committed but its answer lost; the look-up after it fails too."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.creates = 0
        self.fail_next_read = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/evals/runs":
            self.creates += 1
            response = self.inner.handle_request(request)
            response.read()
            if self.creates == 1:
                self.fail_next_read = True
                raise httpx.ReadError("the answer was lost", request=request)
            return response
        if request.method == "GET" and self.fail_next_read:
            self.fail_next_read = False
            raise httpx.ConnectError("the look-up failed too", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_a_create_of_unknown_outcome_is_looked_for_again_not_repeated(make_world):
    """Lost answer, failed look-up: the next attempt lists afresh and adopts the run.

    It used to reuse the listing made before the create (kept 2 s for speed), miss the run
    and create a second one in the same apply.
    """
    world = make_world(seed=8, faults=emulator.Faults())
    world.configure()
    config = load_config(world.root / "reconciler.yaml", environ=KEYS)
    resources = [r for r in load_manifests(config, environ=KEYS) if r.vendor is Vendor.BLAND]
    transport = LostCreateThenLostLookup()
    provider = BlandProvider(
        ProviderConfig(
            vendor=Vendor.BLAND, api_key=Secret(BLAND_KEY), base_url=world.url, max_retries=0
        ),
        transport=transport,
    )
    listed_at = datetime.now(UTC)
    the_plan = plan(resources[:1], [], settings=PlanSettings(workspace=WORKSPACE, now=listed_at))
    try:
        result = apply_plan(
            the_plan,
            {Vendor.BLAND: provider},
            concurrency={Vendor.BLAND: 1},
            listed_at=listed_at,
            sleep=lambda _: None,
        )
    finally:
        provider.close()
    assert not result.failed
    assert 1 == transport.creates
    runs = [r for r in world.bland_runs() if r.identity == (WORKSPACE, "BlandEvalRun/calls-1")]
    assert 1 == len(runs), runs
