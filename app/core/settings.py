"""Settings read from the environment (SPEC §1)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.handles import Handle


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    # A streaming replica for public and partner reads (optional).
    database_read_url: str | None = Field(default=None, alias="DATABASE_READ_URL")
    # The owner role that runs migrations; defaults to DATABASE_URL.
    migration_database_url: str | None = Field(default=None, alias="QCR_MIGRATION_DATABASE_URL")
    data_dir: Path = Field(default=Path("./var"), alias="QCR_DATA_DIR")
    public_base_url: str = Field(default="http://localhost:8000", alias="QCR_PUBLIC_BASE_URL")
    code_secret: str | None = Field(default=None, alias="QCR_CODE_SECRET")
    # Ed25519 private key (the raw 32-byte seed, base64) that signs audit tree
    # heads; generated in the data dir on the embedded default (SPEC §7).
    audit_signing_key: str | None = Field(default=None, alias="QCR_AUDIT_SIGNING_KEY")
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    timezone: str = Field(default="Asia/Shanghai", alias="QCR_TIMEZONE")
    trusted_proxies: str = Field(default="", alias="QCR_TRUSTED_PROXIES")
    log_json: bool = Field(default=True, alias="QCR_LOG_JSON")
    statement_timeout_ms: int = Field(default=15_000, alias="QCR_STATEMENT_TIMEOUT_MS")
    pool_size: int = Field(default=10, alias="QCR_POOL_SIZE")
    # `limits` rate strings for anonymous requests, per client.
    rate_limit_resolver: str = Field(default="120/minute", alias="QCR_RATE_LIMIT_RESOLVER")
    rate_limit_feedback: str = Field(default="10/minute", alias="QCR_RATE_LIMIT_FEEDBACK")
    rate_limit_public: str = Field(default="300/minute", alias="QCR_RATE_LIMIT_PUBLIC")
    # When set, /metrics answers only `Authorization: Bearer <this key>` (the scraper).
    metrics_key: str | None = Field(default=None, alias="QCR_METRICS_KEY")
    # Start even when the service role owns or may change the log tables (warns loudly).
    allow_privileged_role: bool = Field(default=False, alias="QCR_ALLOW_PRIVILEGED_ROLE")
    rate_limit_console_login: str = Field(default="10/minute", alias="QCR_RATE_LIMIT_CONSOLE_LOGIN")
    # An item code scanned from more distinct clients than this is suspicious.
    suspicious_scan_threshold: int = Field(default=5, alias="QCR_SUSPICIOUS_SCANS")
    # Policy v2's effective_from (SPEC §4.1): stored at first start, changeable only
    # while still in the future.
    policy_v2_from: dt.date = Field(default=dt.date(2027, 1, 1), alias="QCR_POLICY_V2_FROM")
    # Four eyes (SPEC §9): off only for a one-person office (logged and audited at start).
    four_eyes: bool = Field(default=True, alias="QCR_FOUR_EYES")
    # Webhook targets (SPEC §11): admit non-global addresses / plain HTTP
    # (tests and closed networks only).
    webhook_allow_private: bool = Field(default=False, alias="QCR_WEBHOOK_ALLOW_PRIVATE")
    webhook_allow_http: bool = Field(default=False, alias="QCR_WEBHOOK_ALLOW_HTTP")
    # Run the webhook dispatcher beside `qcr serve` (one is active per deployment),
    # in a child process at this nice value: requests go first (app/partners/process.py).
    webhook_dispatcher: bool = Field(default=True, alias="QCR_WEBHOOK_DISPATCHER")
    webhook_nice: int = Field(default=10, ge=0, le=19, alias="QCR_WEBHOOK_NICE")
    # Deliveries a second while the serving processes are busy (app/partners/pace.py).
    webhook_busy_rate: float = Field(default=30.0, gt=0, alias="QCR_WEBHOOK_BUSY_RATE")
    webhook_busy_cpu: float = Field(default=0.02, gt=0, le=1, alias="QCR_WEBHOOK_BUSY_CPU")

    @field_validator("database_url", "migration_database_url", "database_read_url")
    @classmethod
    def _asyncpg_url(cls, value: str | None) -> str | None:
        """Accept the usual `postgres://` spellings and use the asyncpg driver."""
        if not value:
            return None
        for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("must be a PostgreSQL URL (postgresql://user@host:port/database)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone: fail fast at start-up
        return value

    @field_validator("code_secret")
    @classmethod
    def _real_secret(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 16:
            raise ValueError("QCR_CODE_SECRET must be at least 16 characters")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def trusted_proxy_set(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.trusted_proxies.split(",") if p.strip())


SETTINGS: Handle[Settings] = Handle("settings", Settings)


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_of(app: FastAPI) -> Settings:
    """The app's settings (tests give an app its own), else the process's."""
    return SETTINGS.get(app) or get_settings()


# `async def` although it does not await: FastAPI runs a plain `def` dependency
# in a worker thread, a thread hop per request.
async def app_settings(request: Request) -> Settings:
    return settings_of(request.app)


AppSettings = Annotated[Settings, Depends(app_settings)]
