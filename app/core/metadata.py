"""Every model module, imported once so that Base.metadata is complete."""

from app.audit import models as audit_models
from app.auth import models as auth_models
from app.core.database import Base
from app.organizations import models as organization_models

metadata = Base.metadata

__all__ = ["audit_models", "auth_models", "metadata", "organization_models"]
