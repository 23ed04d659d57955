"""Benchmarks: accuracy against latency of every model variant and of the Meso-4 peer."""
