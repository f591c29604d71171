"""Consent records: one row per visitor's record, an append-only history of its states."""

import datetime as dt
import uuid
from typing import Any, Literal

import pydantic
from pydantic import ConfigDict, StrictBool, field_validator
from sqlalchemy import JSON, Column, ForeignKey, Index, String, Uuid
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class Consent(SQLModel, table=True):
    """A visitor's consent record; its states are in `consent_state`."""

    id: uuid.UUID = Field(sa_column=Column(Uuid(), primary_key=True))
    created_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ConsentState(SQLModel, table=True):
    """One state of a consent record. Rows are only ever added (a trigger refuses updates)."""

    __tablename__ = "consent_state"
    __table_args__ = (Index(None, "expires_at"),)

    consent_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("consent.id", ondelete="CASCADE"), primary_key=True)
    )
    seq: int = Field(primary_key=True)
    policy_version: str
    # {"essential": true, "analytics": false, ...}: keyed by the policy's categories.
    choices: dict[str, bool] = Field(sa_column=Column(JSON, nullable=False))
    recorded_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class IdempotencyKey(SQLModel, table=True):
    """`Idempotency-Key` of a POST /consent, the request it came with and what it created."""

    __tablename__ = "idempotency_key"

    key: str = Field(sa_column=Column(String(255), primary_key=True))
    request_hash: str
    consent_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("consent.id", ondelete="CASCADE"), nullable=False)
    )
    created_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


# --- what the API reads and writes -----------------------------------------------------------


class ChoicesIn(pydantic.BaseModel):
    """A visitor's answer. An omitted optional category is `false`: no pre-ticked boxes."""

    model_config = ConfigDict(extra="forbid")

    essential: StrictBool = pydantic.Field(
        default=True,
        description="Always `true`: essential cookies cannot be refused.",
        json_schema_extra={"const": True},
    )
    analytics: StrictBool = pydantic.Field(default=False, description="Audience measurement.")
    multimedia: StrictBool = pydantic.Field(
        default=False, description="Video content hosted by partners (YouTube, etc.)."
    )

    @field_validator("essential")
    @classmethod
    def _essential_is_required(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("essential cookies are always on and cannot be refused")
        return value


class ConsentIn(pydantic.BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "policy_version": "b0cbb0c8d9f4",
                    "choices": {"analytics": True, "multimedia": False},
                }
            ]
        },
    )

    policy_version: str = pydantic.Field(
        min_length=1,
        max_length=64,
        description="The `version` of `GET /consent/policy` the visitor answered.",
    )
    choices: ChoicesIn


class Choices(pydantic.BaseModel):
    essential: bool = pydantic.Field(examples=[True])
    analytics: bool = pydantic.Field(examples=[True])
    multimedia: bool = pydantic.Field(examples=[False])


class ConsentRecord(pydantic.BaseModel):
    id: uuid.UUID = pydantic.Field(description="Unguessable (UUIDv4); keep it client-side.")
    policy_version: str = pydantic.Field(examples=["b0cbb0c8d9f4"])
    choices: Choices
    recorded_at: dt.datetime = pydantic.Field(description="When this state was recorded (UTC).")
    expires_at: dt.datetime = pydantic.Field(description="When the banner must ask again (UTC).")


class ConsentStatus(ConsentRecord):
    valid: bool = pydantic.Field(
        description="Whether the banner may rely on this answer; a refusal is a valid answer."
    )
    reason: Literal["expired", "policy_changed"] | None = pydantic.Field(
        description="Why the answer is not valid; `null` when it is.", examples=[None]
    )


class ConsentStatePublic(pydantic.BaseModel):
    seq: int = pydantic.Field(description="1 for the first state, then 2, 3, ...", examples=[1])
    policy_version: str = pydantic.Field(examples=["b0cbb0c8d9f4"])
    choices: Choices
    recorded_at: dt.datetime
    expires_at: dt.datetime


class CategoryPublic(pydantic.BaseModel):
    key: str = pydantic.Field(examples=["analytics"])
    name: str = pydantic.Field(examples=["Analytics cookies"])
    description: str
    required: bool = pydantic.Field(description="`true` only for essential cookies.")


class PolicyPublic(pydantic.BaseModel):
    version: str = pydantic.Field(
        description="Changes whenever any text of the policy changes.", examples=["b0cbb0c8d9f4"]
    )
    banner: str = pydantic.Field(description="The cookie banner's text.")
    settings_intro: str = pydantic.Field(description="The text above the category switches.")
    categories: list[CategoryPublic]

    def category_keys(self) -> list[str]:
        return [category.key for category in self.categories]


def choices_of(choices: dict[str, Any]) -> dict[str, bool]:
    """A stored choice map in the public shape (every category, missing ones refused)."""
    return {key: bool(choices.get(key, False)) for key in Choices.model_fields}
