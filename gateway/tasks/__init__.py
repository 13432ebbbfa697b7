"""The Celery pipeline: thin tasks that take message ids (docs/architecture.md, "Who runs the
processing").

`gateway.tasks.app.create_app(settings, pipeline)` builds the Celery app; nothing here runs at
import. The work itself is in `gateway.services.pipeline`; the tasks only retry, give up and
publish.
"""
