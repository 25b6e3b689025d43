"""HTTP: the REST API, /metrics for Prometheus, /healthz and /readyz. Changes go in as core events."""
