"""Benchmarks: each scenario measures shotline against a baseline in the same run."""
