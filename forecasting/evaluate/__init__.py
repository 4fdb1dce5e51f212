"""Rolling-origin backtests and forecast metrics."""
