"""prometheus.yml to frozen dataclasses: the YAML reader with line numbers, durations, HTTP client and remote-write blocks, the dump."""
