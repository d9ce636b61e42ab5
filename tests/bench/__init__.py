"""Tests of the benchmarks' own analysis code."""
