"""Whose objects a caller may see. Set on every request by the service's authentication; every domain filters by
it, so another organisation's object is simply not found (404, never 403)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """`organization_id` None: every organisation (the operator, and scheduled jobs). `person_id`: only this person
    (a self-enrolled subject).
    `key_id` or `user_id`: who acts, an API key or a console user."""

    role: str
    organization_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    key_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None

    def sees(self, organization_id: uuid.UUID | None, person_id: uuid.UUID | None = None) -> bool:
        if self.organization_id is not None and organization_id != self.organization_id:
            return False
        return self.person_id is None or person_id == self.person_id


INSTALLATION = Scope(role="system")
"""The scope of the installation itself: scheduled jobs and the command line."""
