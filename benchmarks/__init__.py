"""Developer benchmarks (not part of the product packages): python -m benchmarks.serving."""
