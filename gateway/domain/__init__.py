"""The pure domain: canonical documents, events, reconciliation rules, state machines.

No SQLAlchemy, Celery, sockets or file I/O here (docs/architecture.md, "Layers and the import
rule").
"""
