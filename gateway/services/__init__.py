"""Units of work: what the channels, workers and commands call (docs/architecture.md).

A regular package, not a namespace one, so that the import contracts of `pyproject.toml`
(`lint-imports`) can name it and its modules.
"""
