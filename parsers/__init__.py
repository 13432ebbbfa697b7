"""Bytes in, format-level documents out.

This package knows nothing about orders, suppliers or databases (docs/architecture.md, "Layers and
the import rule"): it turns raw bytes into segments, messages and located problems. `mappings`
gives them meaning.
"""
