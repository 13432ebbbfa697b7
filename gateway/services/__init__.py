"""Units of work: what the channels, workers and commands call (docs/architecture.md).

A package of its own, not a namespace, so that a built wheel carries it
(`[tool.setuptools.packages.find]` finds packages by their `__init__.py`) and the import
contracts can name it.
"""
