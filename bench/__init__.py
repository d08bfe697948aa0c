"""Benchmarks: each prints `name: value unit` lines; run with `make bench`."""
