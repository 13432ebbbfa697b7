"""The buyers' web UI and the HTTP API (FastAPI), over the read side in
`gateway.services.queue`."""
