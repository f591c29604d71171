"""The consent policy the API serves, read from seed_data/consent-policy.json."""

import json
from pathlib import Path

from pydantic import ValidationError

from app.models.consent import Choices, PolicyPublic
from app.seed.page import policy_version


class PolicyError(ValueError):
    pass


def load_policy(path: Path) -> PolicyPublic:
    """The policy in `path`, refused when its version does not match its texts.

    A version is what a visitor's answer refers to: a text changed under an old version would
    make earlier answers look like consent to words the visitor never saw.
    """
    try:
        policy = PolicyPublic.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise PolicyError(f"{path}: not a consent policy: {exc}") from None
    texts = policy.model_dump(exclude={"version"})
    if policy.version != (expected := policy_version(texts)):
        raise PolicyError(
            f"{path}: version {policy.version!r} does not match its texts; a changed text "
            f"needs the new version {expected!r}"
        )
    keys = policy.category_keys()
    if sorted(keys) != sorted(Choices.model_fields):
        raise PolicyError(
            f"{path}: categories {keys} differ from those the API records "
            f"{list(Choices.model_fields)}"
        )
    required = [category.key for category in policy.categories if category.required]
    if required != ["essential"]:
        raise PolicyError(f"{path}: only 'essential' may be required, not {required}")
    return policy
