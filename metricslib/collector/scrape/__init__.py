"""Scraping: targets from discovery and relabelling, the per-target loop, its HTTP transport and parser, the manager that runs them."""
