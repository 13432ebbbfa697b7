"""End-to-end tests: browser and full pipeline (from the web UI and pipeline issues on)."""
