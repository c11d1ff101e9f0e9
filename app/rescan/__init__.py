"""Re-scan of kept media against the current watchlist and thresholds, in the background, with progress."""
