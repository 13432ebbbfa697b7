"""The buyers' web UI and the HTTP API (FastAPI), over the read side in
`gateway.services.queue`. `gateway.web.app.create_app(settings)` builds the application; today it
serves health (`/healthz`, `/readyz`) and Prometheus metrics (`/metrics`)."""
