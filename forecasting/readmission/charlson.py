"""Charlson comorbidity index from ICD-9-CM or ICD-10 diagnosis codes.

The mapping is Quan et al. (2005), "Coding algorithms for defining comorbidities in ICD-9-CM
and ICD-10 administrative data", Med Care 43:1130-9 (the enhanced ICD-9-CM and the ICD-10
Charlson algorithms), with the original Charlson weights (Charlson et al. 1987) as used by the
LACE index (van Walraven et al. 2010). A condition counts once per episode, whatever the number
of codes; the milder form of a condition is dropped when its severe form is present (diabetes,
liver disease, cancer). Codes match by prefix after removing the dot; ICD-9 codes with their
leading zeros stripped (``"42"`` for 042, as in the UCI file) are padded back.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def _span(first: str, last: str) -> list[str]:
    """Expand a range of equal-length prefixes, e.g. ``("4254", "4259")`` or ``("C00", "C26")``."""
    head = len(first) - len(first.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    letter, start, stop = first[:head], int(first[head:]), int(last[head:])
    width = len(first) - head
    return [f"{letter}{n:0{width}d}" for n in range(start, stop + 1)]


def _codes(text: str) -> tuple[str, ...]:
    """Parse a space-separated list of dotless prefixes; ``a-b`` is a range of prefixes."""
    out: list[str] = []
    for part in text.split():
        first, _, last = part.partition("-")
        out.extend(_span(first, last) if last else [first])
    return tuple(out)


_DM_PLAIN = " ".join(f"E1{d}{c}" for d in "01234" for c in "01689")
_DM_COMPLICATED = " ".join(f"E1{d}{c}" for d in "01234" for c in "23457")

#: Charlson conditions: (weight, ICD-9-CM prefixes, ICD-10 prefixes), dotless (Quan 2005).
CHARLSON_CONDITIONS: dict[str, tuple[int, tuple[str, ...], tuple[str, ...]]] = {
    "myocardial_infarction": (1, _codes("410 412"), _codes("I21 I22 I252")),
    "heart_failure": (
        1,
        _codes("39891 40201 40211 40291 40401 40403 40411 40413 40491 40493 4254-4259 428"),
        _codes("I099 I110 I130 I132 I255 I420 I425-I429 I43 I50 P290"),
    ),
    "peripheral_vascular": (
        1,
        _codes("0930 4373 440 441 4431-4439 4471 5571 5579 V434"),
        _codes("I70 I71 I731 I738 I739 I771 I790 I792 K551 K558 K559 Z958 Z959"),
    ),
    "cerebrovascular": (1, _codes("36234 430-438"), _codes("G45 G46 H340 I60-I69")),
    "dementia": (1, _codes("290 2941 3312"), _codes("F00-F03 F051 G30 G311")),
    "chronic_pulmonary": (
        1,
        _codes("4168 4169 490-505 5064 5081 5088"),
        _codes("I278 I279 J40-J47 J60-J67 J684 J701 J703"),
    ),
    "rheumatic": (
        1,
        _codes("4465 7100-7104 7140-7142 7148 725"),
        _codes("M05 M06 M315 M32-M34 M351 M353 M360"),
    ),
    "peptic_ulcer": (1, _codes("531-534"), _codes("K25-K28")),
    "mild_liver": (
        1,
        _codes("07022 07023 07032 07033 07044 07054 0706 0709 570 571 5733 5734 5738 5739 V427"),
        _codes("B18 K700-K703 K709 K713-K715 K717 K73 K74 K760 K762-K764 K768 K769 Z944"),
    ),
    "diabetes": (1, _codes("2500-2503 2508 2509"), _codes(_DM_PLAIN)),
    "diabetes_complicated": (2, _codes("2504-2507"), _codes(_DM_COMPLICATED)),
    "hemiplegia": (
        2,
        _codes("3341 342 343 3440-3446 3449"),
        _codes("G041 G114 G801 G802 G81 G82 G830-G834 G839"),
    ),
    "renal": (
        2,
        _codes(
            "40301 40311 40391 40402 40403 40412 40413 40492 40493 582 5830-5837 585 586 5880 "
            "V420 V451 V56"
        ),
        _codes("I120 I131 N032-N037 N052-N057 N18 N19 N250 Z490-Z492 Z940 Z992"),
    ),
    "malignancy": (
        2,
        _codes("140-172 174-194 1950-1958 200-208 2386"),
        _codes("C00-C26 C30-C34 C37-C41 C43 C45-C58 C60-C76 C81-C85 C88 C90-C97"),
    ),
    "severe_liver": (
        3,
        _codes("4560-4562 5722-5728"),
        _codes("I850 I859 I864 I982 K704 K711 K721 K729 K765 K766 K767"),
    ),
    "metastatic_tumour": (6, _codes("196-199"), _codes("C77-C80")),
    "hiv_aids": (6, _codes("042-044"), _codes("B20-B22 B24")),
}
#: A severe form present drops the milder one from the index.
HIERARCHY = {
    "diabetes_complicated": "diabetes",
    "severe_liver": "mild_liver",
    "metastatic_tumour": "malignancy",
}


def normalise_code(code: object, version: int) -> str:
    """Return an ICD code upper-case and dotless, with ICD-9 leading zeros restored.

    Args:
        code: The raw code (``"250.83"``, ``"42"``, ``"V57"``, ``"I50.9"``).
        version: 9 or 10.

    Returns:
        The normalised code (``"25083"``, ``"042"``, ``"V57"``, ``"I509"``); ``""`` if empty.
    """
    text = str(code).strip().upper() if code is not None else ""
    if not text or text in {"?", "NAN", "NONE", "NULL", "NA"}:
        return ""
    head, _, tail = text.partition(".")
    if version == 9:
        if head.isdigit():
            head = head.zfill(3)
        elif head[:1] == "V" and head[1:].isdigit():
            head = "V" + head[1:].zfill(2)
        elif head[:1] == "E" and head[1:].isdigit():
            head = "E" + head[1:].zfill(3)
    return head + tail


def detect_icd_version(codes: Iterable[object]) -> int:
    """Tell ICD-10 from ICD-9: any code starting with a letter other than E or V means ICD-10.

    ICD-9 codes are digits, V codes or E codes; ICD-10 codes all start with a letter, and a
    file of diagnoses virtually always holds some outside the E and V chapters.
    """
    for code in codes:
        text = str(code).strip().upper()
        if text[:1].isalpha() and text[:1] not in {"E", "V"} and text not in {"NAN", "NONE"}:
            return 10
    return 9


def _flags(codes: np.ndarray, version: int) -> dict[str, np.ndarray]:
    """Return a boolean array per condition: does a code match one of its prefixes."""
    out: dict[str, np.ndarray] = {}
    for name, (_, icd9, icd10) in CHARLSON_CONDITIONS.items():
        prefixes = icd9 if version == 9 else icd10
        out[name] = np.fromiter(
            (code.startswith(prefixes) for code in codes), dtype=bool, count=len(codes)
        )
    return out


def charlson_conditions(diagnoses: pd.DataFrame, version: int | None = None) -> pd.DataFrame:
    """Flag the Charlson conditions of each episode from its diagnosis columns.

    Args:
        diagnoses: One column per diagnosis position, raw ICD codes (missing: NaN, ``""``
            or ``"?"``).
        version: 9 or 10; ``None`` detects it per column with :func:`detect_icd_version`.

    Returns:
        One 0/1 column per condition of :data:`CHARLSON_CONDITIONS` (after the hierarchy),
        aligned with ``diagnoses``.
    """
    flags = {name: np.zeros(len(diagnoses), dtype=bool) for name in CHARLSON_CONDITIONS}
    for column in diagnoses.columns:
        raw = diagnoses[column].astype(object).where(diagnoses[column].notna(), "")
        uniques, inverse = np.unique(raw.astype(str).to_numpy(), return_inverse=True)
        use = version or detect_icd_version(uniques)
        codes = np.array([normalise_code(code, use) for code in uniques], dtype=object)
        for name, hit in _flags(codes, use).items():
            flags[name] |= hit[inverse]
    for severe, mild in HIERARCHY.items():
        flags[mild] &= ~flags[severe]
    return pd.DataFrame(
        {name: hit.astype(np.int8) for name, hit in flags.items()}, index=diagnoses.index
    )


def charlson_index(diagnoses: pd.DataFrame, version: int | None = None) -> pd.Series:
    """Return the Charlson comorbidity index (weighted sum of conditions) of each episode.

    Args:
        diagnoses: See :func:`charlson_conditions`.
        version: See :func:`charlson_conditions`.

    Returns:
        The index (0 for an episode without a Charlson condition), aligned with ``diagnoses``.
    """
    flags = charlson_conditions(diagnoses, version)
    weights = np.array([CHARLSON_CONDITIONS[name][0] for name in flags.columns])
    return pd.Series(flags.to_numpy() @ weights, index=diagnoses.index, name="charlson")
