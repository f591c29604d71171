"""Table models and response schemas. Importing this package registers every table."""

from app.models.author import Author, AuthorPublic
from app.models.common import ListMeta, Page, Problem, ValidationIssue
from app.models.consent import Consent, ConsentState, IdempotencyKey
from app.models.dataset import DatasetState
from app.models.publication import (
    AuthorRef,
    Publication,
    PublicationAuthor,
    PublicationPublic,
    VenueRef,
)
from app.models.venue import Venue, VenuePublic

__all__ = [
    "Author",
    "AuthorPublic",
    "AuthorRef",
    "Consent",
    "ConsentState",
    "DatasetState",
    "IdempotencyKey",
    "ListMeta",
    "Page",
    "Problem",
    "Publication",
    "PublicationAuthor",
    "PublicationPublic",
    "ValidationIssue",
    "Venue",
    "VenuePublic",
    "VenueRef",
]
