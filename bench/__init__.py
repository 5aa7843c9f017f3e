"""Benchmarks: scripts that start the real bot between the emulators and print figures (not tests)."""
