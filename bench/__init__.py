"""eonay's benchmarks: the figures a user feels, each beside a baseline from the same run.

Run `python -m bench` (or `python -m bench --quick`); see docs/benchmarks.md.
"""
