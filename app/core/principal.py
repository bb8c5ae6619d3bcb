"""Who is calling: the role of the API key, or anonymous."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass


class Role(enum.StrEnum):
    admin = "admin"
    regulator = "regulator"
    partner = "partner"
    enterprise = "enterprise"
    anonymous = "anonymous"


@dataclass(frozen=True)
class Principal:
    role: Role
    key_id: uuid.UUID | None = None
    uscc: str | None = None  # bound organization of an enterprise key

    @property
    def is_anonymous(self) -> bool:
        return self.role is Role.anonymous

    @property
    def is_regulator(self) -> bool:
        """Admins can do everything a regulator can."""
        return self.role in (Role.admin, Role.regulator)

    def owns(self, uscc: str) -> bool:
        return self.role is Role.enterprise and self.uscc == uscc

    def sees_private(self, uscc: str) -> bool:
        """Personal data (the legal representative) is for regulators and the owner."""
        return self.is_regulator or self.owns(uscc)


ANONYMOUS = Principal(Role.anonymous)
SYSTEM = Principal(Role.admin)  # the CLI and the daily refresh
