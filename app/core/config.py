"""Settings: every knob of pubapi, read from `PUBAPI_*` environment variables or a `.env` file."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUBAPI_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///pubapi.db",
        description="SQLAlchemy URL: `sqlite:///path.db` (default, in the working directory) "
        "or `postgresql+psycopg://user@host:5432/dbname`.",
    )
    seed_path: Path = Field(
        default=PROJECT_ROOT / "seed_data",
        description="What `pubapi serve` loads into an empty database and `pubapi seed` "
        "loads when given no path.",
    )
    cursor_secret: str = Field(
        default="pubapi-cursor-v1",
        description="Key of the checksum that makes pagination cursors tamper-evident. "
        "Servers behind one load balancer must share it.",
    )
    db_pool_size: int = Field(default=8, ge=1, description="Connections per worker process.")


@lru_cache
def get_settings() -> Settings:
    return Settings()
