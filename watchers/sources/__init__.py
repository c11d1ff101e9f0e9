"""Where media comes from: one module per source kind, all yielding the same `FetchedPost` shape."""
