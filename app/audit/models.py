"""The audit entry model lives with the journal that writes it."""

from app.journal.models import XACT_ID_DEFAULT, AuditEntry

__all__ = ["XACT_ID_DEFAULT", "AuditEntry"]
