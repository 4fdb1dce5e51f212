"""Seeding and opaque identifiers for the synthetic generator.

Every random stream is a :class:`numpy.random.Generator` built from ``SeedSequence(seed,
spawn_key=(stream, key))``: a site's stream depends on the seed and on its own key (a stable
hash of its ``site_id``), never on how many other sites are generated or in which order.
"""

from __future__ import annotations

import zlib

import numpy as np

STREAM_SITE_PROFILE = 0
STREAM_SITE_DEMAND = 1
STREAM_REGION = 2
STREAM_EPISODES = 3

_MASK56 = np.uint64((1 << 56) - 1)
_MUL = np.uint64(0x9E3779B97F4A7C15 & ((1 << 56) - 1) | 1)  # odd: a bijection modulo 2**56


def stable_key(text: str) -> int:
    """Return a stable 32-bit key of a string (CRC-32; unlike ``hash`` it survives restarts)."""
    return zlib.crc32(text.encode("utf-8"))


def stream(seed: int, stream_id: int, key: int) -> np.random.Generator:
    """Return the random generator of one stream (``stream_id``) for one entity (``key``).

    Args:
        seed: The user's seed.
        stream_id: Which kind of randomness (one of the ``STREAM_*`` constants).
        key: The entity: a site's :func:`stable_key`, a region number, …

    Returns:
        A generator that depends only on ``(seed, stream_id, key)``.
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream_id, key)))


def opaque_ids(prefix: str, owner: int, local: np.ndarray) -> list[str]:
    """Return opaque, unique identifiers for numbered items of one owner.

    ``(owner, local)`` pairs are packed into 56 bits and scrambled by a bijection, so distinct
    pairs give distinct ids that look random and carry no personal meaning.

    Args:
        prefix: Leading letter(s), e.g. ``"P"`` for patients.
        owner: A 32-bit owner key (e.g. a site's :func:`stable_key`).
        local: Non-negative item numbers below 2**24.

    Returns:
        One id per item, e.g. ``"P3F09A1C2B7E4D5"``.
    """
    x = (np.uint64(owner & 0xFFFFFFFF) << np.uint64(24)) | np.asarray(local, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = (x * _MUL) & _MASK56
        x ^= x >> np.uint64(29)
        x = (x * _MUL) & _MASK56
    return [f"{prefix}{v:014X}" for v in x.tolist()]
