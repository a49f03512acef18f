"""Settings, read once at the edges (``celery.py``, ``cli.py``) and passed down as arguments.

Every variable carries the ``NUSAWORKER_`` prefix; a ``.env`` file in the working directory is
read too. Secrets are :class:`~pydantic.SecretStr`: masked in every repr and log line.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All of nusaworker's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="NUSAWORKER_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    redis_url: str = "redis://localhost:6379/0"
    nusasms_base_url: str = "https://api.nusasms.com"
    nusasms_api_key: SecretStr = SecretStr("")
    nusasms_sms_user: str = ""
    nusasms_sms_password: SecretStr = SecretStr("")
    # The provider's documented rule is one hit per 50 ms per account; the gate adds its own
    # small safety margin on top (see nusaworker.pacing).
    min_interval_ms: float = Field(default=50.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=30.0, gt=0)
    # All nusaworker keys in Redis hang under this prefix (see nusaworker.keys).
    key_prefix: str = "nw:"
    # Broker redelivery of an unacknowledged task after a worker died; every countdown we use
    # stays far below it (nusaworker.routing.MAX_COUNTDOWN_S).
    visibility_timeout_s: int = Field(default=3600, ge=2)
    # A redelivered OTP whose first hit may have reached the provider is sent again (a
    # duplicate code is better than none); other priorities end "unknown". See README.
    otp_resend_in_doubt: bool = True


def load_settings() -> Settings:
    """Read the environment (and ``.env``) once."""
    return Settings()
