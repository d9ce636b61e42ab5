"""The metricslib collector: scrape Prometheus targets, store samples, answer PromQL.

Needs the ``collector`` extra (numpy, PyYAML); the SDK does not import this package.
"""
