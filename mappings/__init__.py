"""Format-level documents -> canonical documents (docs/architecture.md, "The canonical model").

Imports `parsers` and the pure domain types of `gateway.domain` only.
"""
