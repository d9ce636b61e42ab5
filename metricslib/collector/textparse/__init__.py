"""Exposition parsers: the scrape fast path (fast), the validating reader (validating), the text and OpenMetrics syntax rules."""
