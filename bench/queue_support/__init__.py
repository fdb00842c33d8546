"""Support code for the queue benchmarks (not a benchmark itself: `make bench` runs bench/*.py)."""
