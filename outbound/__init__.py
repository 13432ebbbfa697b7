"""Canonical acknowledgements and notifications -> wire messages (CONTRL, APERAK, email, MDN)
and their transports. No parsing, no reconciliation (DESIGN.md section 3)."""
