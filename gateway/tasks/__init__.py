"""The Celery pipeline: thin tasks that take message ids (DESIGN.md sections 2, 7 and 8).

`gateway.tasks.app.create_app(settings, pipeline)` builds the Celery app; nothing here runs at
import. The work itself is in `gateway.services.pipeline`; the tasks only retry, give up and
publish.
"""
