"""The vendors the emulator serves: one line per vendor package, in routing order.

A fourth vendor is one package under `reconciler/emulator/` exposing `VENDOR` (see
`base.Vendor`) plus one line here; the server builds its route table from this dict.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.emulator import adaline, arize, bland
from reconciler.emulator.base import Vendor

VENDORS: Mapping[str, Vendor] = {
    "bland": bland.VENDOR,
    "adaline": adaline.VENDOR,
    "arize": arize.VENDOR,
}
