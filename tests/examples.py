"""The shipped examples/, copied for a test: never run in place.

A user who follows the README (the quickstart applies in examples/) leaves the embedded
emulator's state in examples/.reconciler/; a test that ran there would see that world, and
would leave its own behind. Tests therefore work on a copy, without that state.
"""

from __future__ import annotations

import shutil
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# What a user's runs leave in examples/: the emulator's state and saved plans.
LEFT_BY_USERS = shutil.ignore_patterns(".reconciler", "plan.json", "*.sqlite3*")


def copy_examples(tmp_path: Path) -> Path:
    """Copy examples/ (without any user's state) to tmp_path/examples; return the copy."""
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target, ignore=LEFT_BY_USERS)
    return target
