"""Measuring the product and the servers: retrieval, live, load and benchmarks."""
