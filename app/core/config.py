"""Settings: every knob of pubapi, read from `PUBAPI_*` environment variables or a `.env` file."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from limits import parse_many
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUBAPI_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///pubapi.db",
        description="SQLAlchemy URL: `sqlite:///path.db` (default, in the working directory) "
        "or `postgresql+psycopg://user@host:5432/dbname`.",
    )
    read_database_url: str | None = Field(
        default=None,
        description="Where data routes read, when not from `PUBAPI_DATABASE_URL`: a PostgreSQL "
        "read replica. Consent records are written and read back on the primary.",
    )
    seed_path: Path = Field(
        default=PROJECT_ROOT / "seed_data",
        description="What `pubapi serve` loads into an empty database and `pubapi seed` "
        "loads when given no path.",
    )
    secret_key: str = Field(
        default="pubapi-cursor-v1",
        description="Key of the checksums that make cursors tamper-evident and of the hashes "
        "that key rate-limit counters. Servers behind one load balancer must share it.",
    )
    db_pool_size: int | None = Field(
        default=None,
        ge=1,
        description="Connections per worker process, and so requests in the database at once: "
        "2 on SQLite, 8 on PostgreSQL by default. SQLite's queries run in the worker itself and "
        "hold Python's GIL between rows, so more threads only queue for it (at 100,000 "
        "publications, 2 answered 1.5 times the list pages of 8).",
    )

    def pool_size(self, url: str) -> int:
        """`db_pool_size`, or the default for the engine of `url`."""
        if self.db_pool_size is not None:
            return self.db_pool_size
        return 2 if make_url(url).get_backend_name() == "sqlite" else 8

    statement_timeout: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="Seconds one database statement of a request may run before it is "
        "stopped and the request answers 503 (`0`: no limit). PostgreSQL's `statement_timeout`; "
        "on SQLite, a progress handler. An export's stream is timed per batch of rows, so a "
        "long export is not cut. `pubapi seed` and `pubapi migrate` are not limited.",
    )

    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        description="Origins allowed to read the data routes from a browser (comma-separated, "
        "or `*` for any origin).",
    )
    cors_allow_credentials: bool = Field(
        default=False,
        description="Let browsers send cookies and HTTP authentication to the data routes "
        "(needs explicit `PUBAPI_CORS_ORIGINS`: refused together with `*`).",
    )
    cache_max_age: int = Field(
        default=60,
        ge=0,
        le=31_536_000,
        description="Seconds browsers and shared caches may reuse a data answer without asking "
        "again (`Cache-Control: public, max-age=N`); after that they revalidate with the ETag.",
    )
    answer_cache_bytes: int = Field(
        default=64 << 20,
        ge=0,
        description="Memory each worker may spend keeping data answers to send again until the "
        "data changes (`0` turns it off). Requests with `Cache-Control: no-cache` bypass it.",
    )
    data_version_ttl: float = Field(
        default=1.0,
        ge=0,
        le=3600,
        description="Seconds a worker trusts the data version it last read before reading it "
        "again: after a seed load, kept answers may be sent for at most this long (`0` checks "
        "on every request).",
    )
    lean_reads: bool = Field(
        default=True,
        description="Answer the commonest list pages (and, on SQLite, one publication by id) "
        "on a lean path beside FastAPI: the same answers for less CPU (`false` sends every "
        "request through FastAPI).",
    )
    access_log: bool = Field(
        default=True,
        description="Write one JSON line per request (request id, method, path, status, "
        "duration) to standard error.",
    )

    consent_policy_path: Path = Field(
        default=PROJECT_ROOT / "seed_data" / "consent-policy.json",
        description="The cookie policy the banner shows: version, texts, categories.",
    )
    consent_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Site origins allowed to call the consent routes from a browser "
        "(comma-separated, e.g. `https://example.org,https://www.example.org`).",
    )
    consent_lifetime_days: int = Field(
        default=182,
        ge=1,
        le=395,
        description="How long a consent answer is valid before the banner asks again "
        "(at most 13 months).",
    )
    consent_retention_days: int = Field(
        default=365,
        ge=0,
        description="How long a consent record is kept after it expired, as proof; "
        "`pubapi consent purge` deletes records past that horizon.",
    )
    consent_rate_limit: str = Field(
        default="30/minute",
        description="Consent writes allowed per client, in the `limits` notation "
        "(`30/minute`, `5/second;100/hour`).",
    )
    rate_limit_storage_url: str = Field(
        default="memory://",
        description="Where rate-limit counters live: `memory://` (one process) or "
        "`redis://host:6379` (shared by several processes).",
    )
    forwarded_allow_ips: str | None = Field(
        default=None,
        description="Proxies trusted to set X-Forwarded-For (uvicorn's setting); unset, the "
        "client is the peer address.",
    )

    @field_validator("cors_origins", "consent_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("consent_origins")
    @classmethod
    def _site_origins_only(cls, origins: list[str]) -> list[str]:
        if "*" in origins:
            raise ValueError("consent routes answer the site's own origins only, not '*'")
        return origins

    @model_validator(mode="after")
    def _no_credentials_for_everyone(self) -> "Settings":
        if self.cors_allow_credentials and "*" in self.cors_origins:
            raise ValueError(
                "PUBAPI_CORS_ALLOW_CREDENTIALS needs explicit PUBAPI_CORS_ORIGINS: browsers "
                "refuse credentials with '*', and echoing any origin would let every site read "
                "what a visitor's credentials unlock"
            )
        return self

    @field_validator("consent_rate_limit")
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit: {exc}") from None
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
