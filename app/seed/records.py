"""The seed format: what one publication record may say (JSON Schema in seed_data/)."""

import hashlib
import json
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from app.core.dates import IsoDate
from app.core.text import fold, printable

# Control characters are refused: PostgreSQL cannot store NUL, and both engines must agree.
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(printable)
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    AfterValidator(printable),
]
Key = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(printable),
]


class SeedPublication(BaseModel):
    """One publication in the seed format. Every field but `authors` may be null or absent."""

    model_config = ConfigDict(
        extra="forbid",
        title="pubapi seed publication",
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "examples": [
                {
                    "key": "tequila-2025",
                    "title": "Tequila: Deadzone-free Ternary Quantization for LLMs",
                    "abstract": "Quantization techniques are essential ...",
                    "published_on": "2025-12-31",
                    "venue": "International Conference on Learning Representations",
                    "status": "Accept (Poster)",
                    "authors": ["Hong Huang", "Decheng Wu"],
                }
            ],
        },
    )

    key: Annotated[
        Key | None,
        Field(
            description="Stable source identifier. Without it the loader derives one from the "
            "title (or, for an untitled record, the abstract) and the authors."
        ),
    ] = None
    title: Text | None = None
    abstract: Text | None = None
    published_on: IsoDate | None = Field(default=None, description="ISO 8601 date.")
    venue: Name | None = Field(default=None, description="Venue name, without the decision.")
    status: Name | None = Field(default=None, description="Decision as published.")
    authors: list[Name] = Field(default_factory=list, description="Names in byline order.")

    @field_validator("authors")
    @classmethod
    def _distinct_authors(cls, names: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ValueError(f"author {name!r} appears twice in the byline")
            seen.add(name)
        return names

    def natural_key(self) -> str:
        if self.key is not None:
            return self.key
        basis = self.title if self.title is not None else self.abstract
        if basis is None:
            return "derived:" + self.content_hash()
        return "derived:" + _digest([fold(basis), [fold(a) for a in self.authors]])

    def content_hash(self) -> str:
        return _digest(self.model_dump(mode="json"))


def _digest(value: Any) -> str:
    raw = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def json_schema() -> dict[str, Any]:
    return SeedPublication.model_json_schema()
