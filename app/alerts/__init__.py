"""Alerts: one kind-neutral alert per person, kind and subject, with a typed evidence record per kind; occurrences
say where it was seen; triage by the press office."""
