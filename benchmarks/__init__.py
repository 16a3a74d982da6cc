"""Entonnoir's benchmarks: `python -m benchmarks [--quick] [NAME...]` prints one table.

Benchmarks measure; they never assert a time. Targets are printed beside the figures.
"""
