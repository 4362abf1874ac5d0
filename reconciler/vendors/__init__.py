"""Everything true of each vendor that needs no I/O: one module per vendor, one registry.

`base.py` is the contract (`VendorModule`) and the values it speaks in; `registry.py` maps
each `Vendor` to its module.
"""
