"""The vendor registry is the one list of vendors: schemas, docs and factories agree with it.

A fourth vendor is a `vendors/` module plus one registry line; every place that still names
the vendors (the JSON output schemas, reconciler.yaml's provider blocks, the manifest
reference, the provider factories, `reconciler schema --kind`) is checked against it here,
so forgetting one fails this file instead of a user's run.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from reconciler.model import Kind, Vendor
from reconciler.providers import config as provider_config
from reconciler.providers.registry import FACTORIES
from reconciler.schema import SCHEMA_FILES
from reconciler.vendors.base import VendorModule
from reconciler.vendors.registry import BY_KIND, VENDORS

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
IDS = [vendor.value for vendor in VENDORS]


def _generator() -> ModuleType:
    path = ROOT / "docs" / "gen_reference.py"
    spec = importlib.util.spec_from_file_location("gen_reference", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _generator()


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


class TestTheRegistry:
    def test_every_vendor_and_every_kind_has_exactly_one_module(self):
        """The enums and the registry list the same vendors and kinds, each module its own."""
        assert list(Vendor) == list(VENDORS)
        assert set(Kind) == set(BY_KIND)
        assert [(v, v) for v in VENDORS] == [(v, m.VENDOR) for v, m in VENDORS.items()]
        assert {m.KIND: m.VENDOR for m in VENDORS.values()} == {k: k.vendor for k in Kind}

    @pytest.mark.parametrize("vendor", list(VENDORS), ids=IDS)
    def test_every_vendor_module_declares_the_whole_contract(self, vendor: Vendor):
        """A module missing a constant or function of `VendorModule` is caught here."""
        module = VENDORS[vendor]
        members = [m for m in dir(VendorModule) if not m.startswith("_")]
        members += list(VendorModule.__annotations__)
        assert [] == [name for name in sorted(set(members)) if not hasattr(module, name)]

    def test_every_vendor_has_a_provider_factory(self):
        """Without a factory the vendor could be declared but never reached."""
        assert list(VENDORS) == list(FACTORIES)


class TestSchemas:
    @pytest.mark.parametrize("vendor", list(VENDORS), ids=IDS)
    def test_each_kind_schema_exists_and_declares_its_kind(self, vendor: Vendor):
        """The module's schema file is shipped and its `kind` is the module's KIND."""
        module = VENDORS[vendor]
        document = schema(module.SCHEMA_FILE)
        assert (module.KIND.value, module.KIND.value) == (
            document["title"],
            document["properties"]["kind"]["const"],
        )

    def test_the_output_schemas_name_exactly_the_registered_vendors_and_kinds(self):
        """plan.schema.json and status.schema.json enums are the registry's, in its order."""
        vendors = [vendor.value for vendor in VENDORS]
        plan = schema("plan.schema.json")
        status = schema("status.schema.json")
        address = plan["$defs"]["change"]["properties"]["address"]["pattern"]
        run = status["properties"]["resources"]["items"]["properties"]["vendor"]
        assert (vendors, vendors) == (plan["$defs"]["vendor"]["enum"], run["enum"])
        kinds = "|".join(module.KIND.value for module in VENDORS.values())
        assert address.startswith(f"^({kinds})/")

    def test_a_schema_enum_that_lost_a_vendor_is_rewritten_by_the_generator(self):
        """The generator restores a drifted enum, so the reference test catches the drift."""
        text = (SCHEMAS / "plan.schema.json").read_text(encoding="utf-8")
        drifted = text.replace('"adaline", ', "").replace("|AdalineEvaluation", "")
        assert drifted != text
        assert text == GENERATOR.with_registry_enums(drifted)

    def test_reconciler_yaml_has_one_provider_block_per_vendor_with_the_defaults_in_use(self):
        """Each block's documented defaults are the ones providers/config.py applies."""
        blocks = schema("reconciler.schema.json")["properties"]["providers"]["properties"]
        assert [vendor.value for vendor in VENDORS] == list(blocks)
        defaults = {
            vendor.value: (
                module.REQUESTS_PER_SECOND,
                provider_config.MAX_CONCURRENCY,
                provider_config.TIMEOUT_S,
                provider_config.MAX_RETRIES,
            )
            for vendor, module in VENDORS.items()
        }
        documented = {
            name: tuple(
                block["properties"][field]["default"]
                for field in ("requests_per_second", "max_concurrency", "timeout_s", "max_retries")
            )
            for name, block in blocks.items()
        }
        assert defaults == documented

    def test_a_missing_provider_block_is_written_by_the_generator(self, tmp_path):
        """reconciler.yaml's schema gets a block for every registered vendor from the generator."""
        path = SCHEMAS / "reconciler.schema.json"
        committed = path.read_text(encoding="utf-8")
        document = json.loads(committed)
        del document["properties"]["providers"]["properties"]["adaline"]
        GENERATOR.SCHEMAS = tmp_path
        try:
            (tmp_path / "reconciler.schema.json").write_text(json.dumps(document), "utf-8")
            assert committed == GENERATOR.config_schema()
        finally:
            GENERATOR.SCHEMAS = SCHEMAS

    def test_the_schema_command_offers_every_registered_kind(self):
        """`reconciler schema --kind` ships each kind's schema under the module's file name."""
        offered = dict(SCHEMA_FILES)
        assert {m.KIND.value: m.SCHEMA_FILE for m in VENDORS.values()}.items() <= offered.items()


class TestDocs:
    def test_the_manifest_reference_covers_the_registered_kinds_in_registry_order(self):
        """docs/reference/manifests.md is generated from the registry's schema files."""
        files = tuple(module.SCHEMA_FILE for module in VENDORS.values())
        assert ("reconciler.schema.json", *files) == GENERATOR.manifest_schemas()
        text = (ROOT / "docs" / "reference" / "manifests.md").read_text(encoding="utf-8")
        positions = [text.find(f"\n## {module.KIND.value}\n") for module in VENDORS.values()]
        assert -1 not in positions
        assert sorted(positions) == positions
