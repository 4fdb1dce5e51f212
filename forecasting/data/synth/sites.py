"""Synthetic hospital sites: size, flow and capacity of each emergency department."""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

from forecasting.data.synth._seeding import STREAM_SITE_PROFILE, stable_key, stream

_PLACES = (
    "Northgate",
    "Riverside",
    "Eastbrook",
    "Westfield",
    "Kingsmead",
    "Ashford Vale",
    "Millbrook",
    "Harbour Cross",
    "Oakham Park",
    "Fenwick",
    "Stonebridge",
    "Hollins Moor",
    "Larkspur",
    "Wyecombe",
    "Thornbury Fields",
    "Saltmarsh",
    "Greyfriars",
    "Copperdale",
    "Beacon Hill",
    "Marlowe",
)
_KINDS = ("General", "Royal Infirmary", "University Hospital", "District Hospital")
# Relative planned elective admissions Mon..Sun: weekdays full lists, weekends very light.
_ELECTIVE_WEEK = (1.0, 1.02, 1.0, 0.98, 0.9, 0.12, 0.05)
_TARGET_OCCUPANCY = 0.85  # the comfort line on average; winter and trend push above
_TWO_LETTER_CODES = 26 * 26


@dataclass(frozen=True)
class SiteProfile:
    """Static profile of one synthetic site (an acute trust's emergency department).

    Attributes:
        site_id: Short opaque code, NHS-trust style (``"RAA"``, ``"RAB"``, …).
        name: Fictional hospital name, e.g. ``"Northgate General"``.
        mean_attendances: Typical daily ED attendances at the start of the series.
        admission_rate: Emergency admissions per attendance (annual mean conversion).
        beds: General and acute beds open outside winter escalation.
        mean_los_emergency: Mean length of stay of emergency admissions, days.
        mean_los_elective: Mean length of stay of elective admissions, days.
        electives_by_weekday: Planned elective admissions Monday..Sunday.
        child_share: Share of attendances that are children (0-15 years).
    """

    site_id: str
    name: str
    mean_attendances: float
    admission_rate: float
    beds: int
    mean_los_emergency: float
    mean_los_elective: float
    electives_by_weekday: tuple[int, ...]
    child_share: float

    @property
    def mean_electives(self) -> float:
        """Mean planned elective admissions per day over a week."""
        return float(np.mean(self.electives_by_weekday))


def site_code(index: int) -> str:
    """Return the code of the ``index``-th synthetic site.

    Codes sort in index order: ``RAA``..``RZZ`` for the first 676 sites, then ``SAAA``…

    Args:
        index: Zero-based site number.

    Returns:
        The site's code.

    Raises:
        ValueError: If ``index`` is negative or beyond the 18,252 available codes.
    """
    letters = string.ascii_uppercase
    if index < 0:
        raise ValueError(f"site index must be non-negative, got {index}")
    if index < _TWO_LETTER_CODES:
        return "R" + letters[index // 26] + letters[index % 26]
    rest = index - _TWO_LETTER_CODES
    if rest >= 26**3:
        raise ValueError(f"at most {_TWO_LETTER_CODES + 26**3} synthetic sites are supported")
    return "S" + letters[rest // 676] + letters[(rest // 26) % 26] + letters[rest % 26]


def site_name(index: int) -> str:
    """Return the fictional name of the ``index``-th synthetic site (unique per index)."""
    n_places = len(_PLACES)
    place = _PLACES[index % n_places]
    round_ = index // n_places
    kind = _KINDS[(index + round_) % len(_KINDS)]
    suffix = "" if round_ < len(_KINDS) else f" {round_ // len(_KINDS) + 1}"
    return f"{place} {kind}{suffix}"


def _profile(index: int, seed: int) -> SiteProfile:
    code = site_code(index)
    rng = stream(seed, STREAM_SITE_PROFILE, stable_key(code))
    mean_att = float(np.clip(np.exp(rng.normal(np.log(250.0), 0.35)), 120.0, 450.0))
    admission_rate = float(rng.uniform(0.20, 0.32))
    los_em = float(rng.uniform(4.5, 7.0))
    los_el = float(rng.uniform(2.0, 4.0))
    weekday_electives = mean_att * rng.uniform(0.06, 0.12)
    week = np.asarray(_ELECTIVE_WEEK) * rng.uniform(0.9, 1.1, size=7)
    electives = tuple(int(v) for v in np.rint(weekday_electives * week))
    occupied = mean_att * admission_rate * los_em + float(np.mean(electives)) * los_el
    beds = round(float(occupied / _TARGET_OCCUPANCY * rng.uniform(0.97, 1.03)))
    return SiteProfile(
        site_id=code,
        name=site_name(index),
        mean_attendances=round(mean_att, 1),
        admission_rate=round(admission_rate, 4),
        beds=beds,
        mean_los_emergency=round(los_em, 2),
        mean_los_elective=round(los_el, 2),
        electives_by_weekday=electives,
        child_share=round(float(rng.uniform(0.17, 0.28)), 3),
    )


def synth_sites(n_sites: int, seed: int = 0) -> list[SiteProfile]:
    """Return ``n_sites`` synthetic site profiles.

    Site ``k`` is the same whatever ``n_sites`` is: its profile depends only on ``seed`` and
    ``k``. Beds are sized so that the mean emergency and elective bed-days fill about 90% of them.

    Args:
        n_sites: How many sites (at least 1).
        seed: Random seed.

    Returns:
        The profiles, in site-code order.

    Raises:
        ValueError: If ``n_sites`` is below 1.
    """
    if n_sites < 1:
        raise ValueError(f"n_sites must be at least 1, got {n_sites}")
    return [_profile(k, seed) for k in range(n_sites)]
