"""Type URNs: ``<prefix…>/<TypeName>[k1=v1,k2=v2]``.

Parsing follows mainline's ``parse_urn``: the base is the text before the first ``[``;
a ``[`` requires a closing ``]`` at the very end and a non-empty body of ``k=v`` pairs.
A malformed URN parses to ``None`` and then only ever equals itself. Pure functions only.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "ParsedUrn",
    "edit_distance",
    "params_agree",
    "parse_urn",
    "short_name",
    "strip_params",
    "types_match",
]


class ParsedUrn(NamedTuple):
    """A URN split into its base and its parameters."""

    base: str
    params: dict[str, str]


def parse_urn(urn: str) -> ParsedUrn | None:
    """Split ``urn`` into base and parameters; ``None`` when it is malformed.

    >>> parse_urn("std/media/v1/AudioFrame[sample_type=f32]")
    ParsedUrn(base='std/media/v1/AudioFrame', params={'sample_type': 'f32'})
    """
    if not urn:
        return None
    start = urn.find("[")
    if start < 0:
        return ParsedUrn(urn, {})
    if not urn.endswith("]"):
        return None
    base, body = urn[:start], urn[start + 1 : -1]
    if not base or not body:
        return None
    params: dict[str, str] = {}
    for part in body.split(","):
        key, sep, value = part.strip().partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            return None
        params[key] = value
    return ParsedUrn(base, params)


def strip_params(urn: str) -> str:
    """The base of ``urn``, or ``urn`` itself when it does not parse."""
    parsed = parse_urn(urn)
    return parsed.base if parsed is not None else urn


def short_name(urn: str) -> str:
    """``std/media/v1/Image[encoding=rgb8]`` -> ``Image``."""
    base = urn.split("[", 1)[0]
    return base.rsplit("/", 1)[-1]


def params_agree(a: dict[str, str], b: dict[str, str]) -> bool:
    """Whether two parameter maps agree: an empty side is a wildcard, shared keys match.

    Keys present on one side only never conflict (``T[a=1]`` agrees with ``T[b=2]``).
    """
    if not a or not b:
        return True
    return all(b.get(key, value) == value for key, value in a.items())


def types_match(a: str, b: str) -> bool:
    """Same base and agreeing parameters (malformed URNs only match themselves)."""
    pa, pb = parse_urn(a), parse_urn(b)
    if pa is None or pb is None:
        return a == b
    return pa.base == pb.base and params_agree(pa.params, pb.params)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance; very long inputs count as infinitely far (cheap guard)."""
    if len(a) > 256 or len(b) > 256:
        return 1 << 30
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
