"""HTTP: the REST API, /metrics for Prometheus and /healthz. Changes go in as core events."""
