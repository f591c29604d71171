"""Proactive content negotiation (RFC 9110 §12.5.1): pick the representation `Accept` prefers."""

from collections.abc import Mapping, Sequence


def _media_ranges(accept: str) -> list[tuple[str, str, float, int]]:
    """(type, subtype, weight, position) of each range; malformed ranges are ignored."""
    ranges = []
    for position, part in enumerate(accept.split(",")):
        media, *params = part.split(";")
        kind, slash, subtype = media.strip().lower().partition("/")
        if not slash or not kind or not subtype:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    weight = 0.0
        ranges.append((kind, subtype, weight, position))
    return ranges


def _weight(media_type: str, ranges: list[tuple[str, str, float, int]]) -> float:
    """The weight of the most specific range matching `media_type` (0 when none does)."""
    kind, _, subtype = media_type.partition("/")
    best: tuple[int, float] = (-1, 0.0)
    for range_kind, range_subtype, weight, _position in ranges:
        if (range_kind, range_subtype) == (kind, subtype):
            specificity = 2
        elif (range_kind, range_subtype) == (kind, "*"):
            specificity = 1
        elif (range_kind, range_subtype) == ("*", "*"):
            specificity = 0
        else:
            continue
        best = max(best, (specificity, weight), key=lambda pair: pair[0])
    return best[1]


def negotiate(accept: str | None, offers: Mapping[str, Sequence[str]]) -> str | None:
    """The name of the offer `accept` weighs highest, `None` when it accepts none of them.

    `offers` maps each representation to the media types that name it, in order of preference;
    ties go to the earlier offer, so a client that accepts anything (`*/*`) gets the first.
    """
    if accept is None or not accept.strip():
        return next(iter(offers))
    ranges = _media_ranges(accept)
    best_name, best_weight = None, 0.0
    for name, media_types in offers.items():
        weight = max(_weight(media_type, ranges) for media_type in media_types)
        if weight > best_weight:
            best_name, best_weight = name, weight
    return best_name
