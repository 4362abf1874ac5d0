"""Compile the reconciler trees a benchmark runs, as `pip install` does for a user.

pip compiles an installed package's modules to bytecode. A checkout run with
PYTHONDONTWRITEBYTECODE set (it is, on the machine these figures come from) compiles every
module it imports again on every start: about 65-80 ms of a `plan`'s start-up that no user
pays, and that the plain clients beside us (httpx, installed by pip) do not pay either.
Every benchmark that times a reconciler process calls this first, for both trees.
"""

from __future__ import annotations

import compileall
from pathlib import Path

HERE = Path(__file__).resolve().parent


def compile_trees(*trees: str | Path | None) -> None:
    """Write the bytecode of `reconciler/` in this checkout and in each tree given."""
    for tree in (HERE.parent, *trees):
        if tree is not None:
            compileall.compile_dir(str(Path(tree) / "reconciler"), quiet=2)
