"""Prometheus's HTTP API v1: request parameters, handlers and the JSON of query results."""
