"""Where media comes from: watches, posts, media items (tables arrive with the watchers issue)."""
