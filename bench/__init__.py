"""Benchmark tools: a deterministic seed-data generator and the equivalent Datasette database."""
