"""Canonical acknowledgements and notifications -> wire messages (CONTRL, APERAK, email, MDN)
and their transports. No parsing, no reconciliation (docs/architecture.md, "Layers and the import
rule")."""
