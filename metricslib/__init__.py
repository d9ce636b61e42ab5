"""metricslib: Prometheus-compatible metrics for Python."""

__all__: list[str] = []
