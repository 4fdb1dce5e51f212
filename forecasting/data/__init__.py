"""Loading, validating, profiling and synthesising demand and episode data."""
