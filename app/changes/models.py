"""The change event model lives with the journal that writes it."""

from app.journal.models import ChangeEvent

__all__ = ["ChangeEvent"]
