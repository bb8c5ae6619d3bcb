"""Content negotiation for the resolver: JSON, linkset or HTML (pure functions)."""

from __future__ import annotations

MAX_ACCEPT_RANGES = 32


def accept_ranges(header: str | None) -> list[tuple[str, float]]:
    """`Accept` as (media range, q) pairs; malformed q-values count as 0."""
    ranges: list[tuple[str, float]] = []
    for part in (header or "").split(",")[:MAX_ACCEPT_RANGES]:
        fields = part.split(";")
        media = fields[0].strip().lower()
        if not media:
            continue
        q = 1.0
        for parameter in fields[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((media, q))
    return ranges


def quality(ranges: list[tuple[str, float]], media: str) -> float:
    """The q-value the most specific matching range gives `media` (0 if none)."""
    kind = media.split("/", 1)[0] + "/*"
    best, specificity = 0.0, -1
    for candidate, q in ranges:
        rank = {media: 2, kind: 1, "*/*": 0}.get(candidate, -1)
        if rank > specificity:
            best, specificity = q, rank
    return best


def wants_json(format_: str | None, accept: str | None) -> bool:
    """`?format=` decides; otherwise JSON only when it is preferred over HTML."""
    if format_ is not None:
        return format_ == "json"
    ranges = accept_ranges(accept)
    return quality(ranges, "application/json") > quality(ranges, "text/html")


def wants_linkset(accept: str | None) -> bool:
    """True when the client names application/linkset+json and prefers it over HTML."""
    ranges = accept_ranges(accept)
    named = any(media == "application/linkset+json" and q > 0 for media, q in ranges)
    return named and quality(ranges, "application/linkset+json") > quality(ranges, "text/html")
