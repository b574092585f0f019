"""Benchmarks of the MAI e-services platform; `make bench` runs them all (bench.run_all)."""
