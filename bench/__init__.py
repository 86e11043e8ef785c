"""Benchmarks (`python -m bench.<name>`); results and how to read them in BENCHMARKS.md."""
