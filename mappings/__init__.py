"""Format-level documents -> canonical documents (DESIGN.md section 4).

Imports `parsers` and the pure domain types of `gateway.domain` only.
"""
