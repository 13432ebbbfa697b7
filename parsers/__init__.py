"""Bytes in, format-level documents out.

This package knows nothing about orders, suppliers or databases (DESIGN.md section 3): it turns
raw bytes into segments, messages and located problems. `mappings` gives them meaning.
"""
