"""reconciler: GitOps for LLM eval runs (distribution `eval-reconciler`, command `reconciler`)."""

from __future__ import annotations

# The one place the version lives: pyproject.toml reads it (`[tool.setuptools.dynamic]`),
# `reconciler --version` and the User-Agent print it. Release tags are `v` + this (docs/ci.md).
__version__ = "0.2.0"
