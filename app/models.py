"""Every model module, imported once so that Base.metadata is complete."""

from app.approvals import models as approval_models
from app.audit import models as audit_models
from app.auth import models as auth_models
from app.calendar import models as calendar_models
from app.changes import models as change_models
from app.codes import models as code_models
from app.complaints import models as complaint_models
from app.console import models as console_models
from app.core import idempotency
from app.core.database import Base
from app.credit import models as credit_models
from app.dueprocess import models as dueprocess_models
from app.journal import models as journal_models
from app.lists import models as list_models
from app.organizations import models as organization_models
from app.partners import models as partner_models
from app.recalls import models as recall_models
from app.records import models as record_models
from app.signals import models as signal_models

metadata = Base.metadata

__all__ = [
    "approval_models",
    "audit_models",
    "auth_models",
    "calendar_models",
    "change_models",
    "code_models",
    "complaint_models",
    "console_models",
    "credit_models",
    "dueprocess_models",
    "idempotency",
    "journal_models",
    "list_models",
    "metadata",
    "organization_models",
    "partner_models",
    "recall_models",
    "record_models",
    "signal_models",
]
