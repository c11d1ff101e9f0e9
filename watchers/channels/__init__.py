"""Candidate channels: where the posts of watched channels point (forwards, t.me links, @mentions), to trace a
campaign back to its source."""
