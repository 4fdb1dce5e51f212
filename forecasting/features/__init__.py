"""Feature transforms: calendar, holidays, leakage-free lags, and the direct design builder."""
