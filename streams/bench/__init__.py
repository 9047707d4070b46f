"""Benchmarks behind ``linernotes bench ...``: each measures a baseline in the same run."""
