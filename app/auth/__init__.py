"""Organisations, API keys and roles, invitations for self-enrolment, and the audit log."""
