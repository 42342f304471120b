"""Metrics (Prometheus), structured logs (structlog JSON) and traces (OpenTelemetry)."""
