"""The tables as SQLAlchemy Core sees them, for the queries and the loader."""

from sqlalchemy import Table
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers the tables)

_tables = SQLModel.metadata.tables

PUBLICATION: Table = _tables["publication"]
PUBLICATION_AUTHOR: Table = _tables["publication_author"]
AUTHOR: Table = _tables["author"]
VENUE: Table = _tables["venue"]
DATASET_STATE: Table = _tables["dataset_state"]
CONSENT: Table = _tables["consent"]
CONSENT_STATE: Table = _tables["consent_state"]
IDEMPOTENCY_KEY: Table = _tables["idempotency_key"]
