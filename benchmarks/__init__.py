"""Speed, size and accuracy of the shipped models: `python -m benchmarks [--quick]`."""
