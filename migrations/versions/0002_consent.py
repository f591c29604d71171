"""Consent records with an append-only history, and POST idempotency keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.types import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = (
    "consent_state is append-only: add a new state instead of changing or deleting one "
    "(purge deletes whole consent records)"
)


def upgrade() -> None:
    op.create_table(
        "consent",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consent"),
    )
    op.create_table(
        "consent_state",
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.String(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consent.id"],
            name="fk_consent_state_consent_id_consent",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("consent_id", "seq", name="pk_consent_state"),
    )
    op.create_index("ix_consent_state_expires_at", "consent_state", ["expires_at"])
    op.create_table(
        "idempotency_key",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(), nullable=False),
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consent.id"],
            name="fk_idempotency_key_consent_id_consent",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_key"),
    )
    # History is proof: a state, once written, is neither changed nor deleted on its own. A
    # state goes only with its whole record (purge), whose row is gone when the cascade runs.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER consent_state_no_update BEFORE UPDATE ON consent_state "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )
        op.execute(
            "CREATE TRIGGER consent_state_no_delete BEFORE DELETE ON consent_state "
            "WHEN EXISTS (SELECT 1 FROM consent WHERE id = OLD.consent_id) "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )
    else:
        op.execute(
            "CREATE FUNCTION consent_state_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            "IF TG_OP = 'UPDATE' OR EXISTS (SELECT 1 FROM consent WHERE id = OLD.consent_id) "
            f"THEN RAISE EXCEPTION '{APPEND_ONLY}'; END IF; "
            "RETURN OLD; "
            "END $$"
        )
        op.execute(
            "CREATE TRIGGER consent_state_append_only BEFORE UPDATE OR DELETE ON consent_state "
            "FOR EACH ROW EXECUTE FUNCTION consent_state_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER consent_state_append_only ON consent_state")
        op.execute("DROP FUNCTION consent_state_append_only()")
    op.drop_table("idempotency_key")
    op.drop_table("consent_state")
    op.drop_table("consent")
