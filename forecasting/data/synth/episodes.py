"""Patient-level discharge episodes with 30-day readmission labels from a known risk model.

Each patient's first episode in the period is sampled from the site's daily emergency
admissions and planned electives (so episodes follow the demand's seasonality). Patients are
then followed: after each discharge the label ``readmitted_30d`` is drawn from the true risk
model (:mod:`forecasting.data.synth.risk`); a readmitted patient returns as an emergency 1-30
days after discharge, any other patient only after more than 30 days (or never). So the labels
agree with the episodes: a patient labelled 0 has no episode in the 30 days after discharge.
Readmissions that fall after the period's end are not in the data (right-censoring), and only
episodes discharged by the end are kept. Three years are simulated before the period (burn-in)
so that prior-admission counts and episode volumes are steady from the first day.

Patients belong to one site; a patient's ``prior_ed_visits_6m`` counts their emergency episodes
in the previous 6 months plus ED visits that did not lead to admission (drawn from their latent
frailty), and ``prior_admissions_12m`` their episodes in the previous 12 months (plus, early on,
admissions before the simulation started).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecasting.data.synth._seeding import STREAM_EPISODES, opaque_ids, stable_key, stream
from forecasting.data.synth.containers import SynthData
from forecasting.data.synth.risk import DESTINATIONS, risk_logit
from forecasting.data.synth.sites import SiteProfile

EPISODE_COLUMNS = (
    "episode_id",
    "patient_id",
    "site_id",
    "admission_date",
    "discharge_date",
    "length_of_stay",
    "admission_type",
    "age",
    "sex",
    "charlson",
    "comorbidity_count",
    "prior_ed_visits_6m",
    "prior_admissions_12m",
    "discharge_destination",
    "readmitted_30d",
)
EPISODES_PER_PATIENT = 2.0  # calibrates the first-episode sampling to episodes_per_site_day
NEXT_EPISODE_MEAN_DAYS = 365.0  # mean gap (over frailty) to a later, non-readmission episode
HISTORY = 16  # episodes remembered per patient for the prior-admission counts
FRAILTY_SHAPE = 2.0  # patients' latent frailty ~ Gamma(shape, mean 1)
BURN_IN_YEARS = 3  # years simulated before the period so that it starts in a steady state
LEAVE_PROB = 0.45  # chance that a patient not readmitted has no later episode (moves, dies)
MAX_PATIENTS = 1 << 24  # patient numbers fit the opaque ids
CHARLSON_GAIN = 0.04  # chance that the Charlson index rises by one at an episode


def _patients(
    rng: np.random.Generator, emergency: np.ndarray, child_share: float
) -> dict[str, np.ndarray]:
    n = len(emergency)
    frailty = rng.gamma(FRAILTY_SHAPE, 1.0 / FRAILTY_SHAPE, n)
    child = emergency & (rng.random(n) < 0.5 * child_share)
    adult_age = np.where(
        emergency, 18.0 + 84.0 * rng.beta(2.2, 1.4, n), 18.0 + 72.0 * rng.beta(2.6, 2.0, n)
    )
    age = np.where(child, rng.integers(0, 16, n), np.rint(adult_age)).astype(np.int64)
    older = np.maximum(age - 40, 0)
    return {
        "frailty": frailty,
        "age": age,
        "sex": np.where(rng.random(n) < 0.52, "F", "M"),
        "charlson": rng.poisson(frailty * (0.15 + 0.04 * older)),
        "other_conditions": rng.poisson(0.5 + 0.025 * age),
        "ed_rate": 0.45 * frailty,
        "pre_admissions": rng.poisson(0.3 * frailty * (1.0 + np.maximum(age - 60, 0) / 20.0)),
    }


def _length_of_stay(
    rng: np.random.Generator,
    profile: SiteProfile,
    em: np.ndarray,
    age: np.ndarray,
    charl: np.ndarray,
) -> np.ndarray:
    em_mean = profile.mean_los_emergency * np.exp(0.08 * (age - 68) / 10 + 0.05 * (charl - 2.0))
    el_mean = profile.mean_los_elective * np.exp(0.04 * (charl - 1.5))
    mean = np.where(em, em_mean, el_mean)
    return rng.poisson(mean * rng.gamma(1.5, 1.0 / 1.5, len(mean)))


def _destination(
    rng: np.random.Generator, age: np.ndarray, charl: np.ndarray, los: np.ndarray
) -> np.ndarray:
    a = (age - 65.0) / 10.0
    ll = np.log1p(los)
    logits = np.stack(
        [
            np.zeros(len(age)),
            -2.2 + 0.35 * a + 0.12 * charl + 0.15 * ll,
            -4.2 + 0.6 * a + 0.10 * charl + 0.25 * ll,
            -3.8 + 0.2 * ll,
        ],
        axis=1,
    )
    prob = np.exp(logits)
    cum = np.cumsum(prob / prob.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((rng.random(len(age))[:, None] > cum).sum(axis=1), len(DESTINATIONS) - 1)


def _first_episodes(
    rng: np.random.Generator, g: pd.DataFrame, per_day: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sample first episodes from daily admissions, with a burn-in year before the start."""
    day = np.asarray((g["date"] - g["date"].min()).dt.days, dtype=np.int64)
    adm = g["admissions"].to_numpy(np.int64)
    el = g["electives_planned"].to_numpy(np.int64)
    frac = min(1.0, per_day / EPISODES_PER_PATIENT / max(float(np.mean(adm + el)), 1e-9))
    # Burn-in: the first year's counts replayed in the BURN_IN_YEARS before the start, so that
    # patients already have histories (and readmissions in flight) when the period starts.
    early = day < 365
    day = np.concatenate([*(day[early] - 365 * b for b in range(BURN_IN_YEARS, 0, -1)), day])
    adm = np.concatenate([*([adm[early]] * BURN_IN_YEARS), adm])
    el = np.concatenate([*([el[early]] * BURN_IN_YEARS), el])
    n_em, n_el = rng.binomial(adm, frac), rng.binomial(el, frac)
    first = np.concatenate([np.repeat(day, n_em), np.repeat(day, n_el)])
    first_em = np.concatenate([np.ones(n_em.sum(), bool), np.zeros(n_el.sum(), bool)])
    return first, first_em


def _site_episodes(
    profile: SiteProfile, g: pd.DataFrame, seed: int, per_day: float
) -> pd.DataFrame:
    key = stable_key(profile.site_id)
    rng = stream(seed, STREAM_EPISODES, key)
    start = g["date"].min()
    n_days = int((g["date"].max() - start).days) + 1
    first, first_em = _first_episodes(rng, g, per_day)
    n_pat = len(first)
    if n_pat >= MAX_PATIENTS:
        raise ValueError(
            f"too many patients for site {profile.site_id}: lower episodes_per_site_day"
        )
    pat = _patients(rng, first_em, profile.child_share)

    hist = np.full((n_pat, HISTORY), -(10**6), dtype=np.int64)
    hist_em = np.zeros((n_pat, HISTORY), dtype=bool)
    n_prev = np.zeros(n_pat, dtype=np.int64)
    gained = np.zeros(n_pat, dtype=np.int64)
    cur_day, cur_em = first.copy(), first_em.copy()
    active = np.arange(n_pat)
    rows: list[dict[str, np.ndarray]] = []
    while active.size:
        i, d, em = active, cur_day[active], cur_em[active]
        since = d - first[i]
        age = pat["age"][i] + since // 365
        gained[i] += rng.random(len(i)) < CHARLSON_GAIN
        charl = np.minimum(pat["charlson"][i] + gained[i], 10)
        recent = hist[i] > (d - 365)[:, None]
        prior_adm = recent.sum(axis=1) + rng.binomial(
            pat["pre_admissions"][i], np.clip(1.0 - since / 365.0, 0.0, 1.0)
        )
        prior_ed = ((hist[i] > (d - 183)[:, None]) & hist_em[i]).sum(axis=1)
        prior_ed = prior_ed + rng.poisson(pat["ed_rate"][i])
        los = _length_of_stay(rng, profile, em, age, charl)
        dest = _destination(rng, age, charl, los)
        p = 1.0 / (1.0 + np.exp(-risk_logit(age, los, em, charl, prior_ed, prior_adm, dest)))
        readmit = rng.random(len(i)) < p
        rows.append(
            {
                "patient": i, "day": d, "los": los, "em": em, "age": age, "charlson": charl,
                "comorb": charl + pat["other_conditions"][i], "prior_ed": prior_ed,
                "prior_adm": prior_adm, "dest": dest, "readmit": readmit,
            }
        )  # fmt: skip
        slot = n_prev[i] % HISTORY
        hist[i, slot], hist_em[i, slot] = d, em
        n_prev[i] += 1
        later = 31.0 + rng.exponential(NEXT_EPISODE_MEAN_DAYS / pat["frailty"][i])
        gap = np.where(readmit, 1 + np.floor(30.0 * rng.beta(1.0, 2.2, len(i))), later)
        nxt = d + los + gap.astype(np.int64)
        keep = (nxt < n_days) & (readmit | (rng.random(len(i)) >= LEAVE_PROB))
        active = i[keep]
        cur_day[active] = nxt[keep]
        cur_em[active] = readmit[keep] | (rng.random(int(keep.sum())) < 0.7)

    if not rows:
        return pd.DataFrame({c: [] for c in EPISODE_COLUMNS})
    cols = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
    kept = (cols["day"] >= 0) & (cols["day"] + cols["los"] < n_days)
    cols = {k: v[kept] for k, v in cols.items()}
    order = np.lexsort((cols["patient"], cols["day"]))
    cols = {k: v[order] for k, v in cols.items()}
    adm_date = start + pd.to_timedelta(cols["day"], unit="D")
    return pd.DataFrame(
        {
            "episode_id": opaque_ids("E", key, np.arange(len(order))),
            "patient_id": opaque_ids("P", key, cols["patient"]),
            "site_id": pd.Series([profile.site_id] * len(order), dtype=object),
            "admission_date": adm_date,
            "discharge_date": adm_date + pd.to_timedelta(cols["los"], unit="D"),
            "length_of_stay": cols["los"].astype(np.int64),
            "admission_type": np.where(cols["em"], "emergency", "elective").astype(object),
            "age": cols["age"].astype(np.int64),
            "sex": pat["sex"][cols["patient"]].astype(object),
            "charlson": cols["charlson"].astype(np.int64),
            "comorbidity_count": cols["comorb"].astype(np.int64),
            "prior_ed_visits_6m": cols["prior_ed"].astype(np.int64),
            "prior_admissions_12m": cols["prior_adm"].astype(np.int64),
            "discharge_destination": np.asarray(DESTINATIONS, dtype=object)[cols["dest"]],
            "readmitted_30d": cols["readmit"].astype(np.int64),
        }
    )


def synth_episodes(
    data: SynthData | pd.DataFrame,
    sites: Sequence[SiteProfile] | None = None,
    seed: int = 0,
    episodes_per_site_day: float = 6.0,
) -> pd.DataFrame:
    """Generate patient-level discharge episodes for the sites of a demand frame.

    Args:
        data: A :class:`SynthData` or a DemandFrame with ``site_id``, ``date``, ``admissions``
            and ``electives_planned``.
        sites: Profiles of the frame's sites (taken from ``data`` when it is a ``SynthData``).
        seed: Random seed; a site's episodes depend only on the seed, its ``site_id`` and its
            own demand rows.
        episodes_per_site_day: Approximate episodes kept per site and day (a sample of all
            admissions, so the table stays small: about 28,000 for 4 sites over 3 years).

    Returns:
        One row per discharge, sorted by site, admission date and patient, with the columns
        of :data:`EPISODE_COLUMNS`. Identifiers are opaque synthetic strings.

    Raises:
        ValueError: If ``sites`` is missing, lacks a site of ``data``, or a column is missing.
    """
    demand = data.demand if isinstance(data, SynthData) else data
    if sites is None:
        if not isinstance(data, SynthData):
            raise ValueError("sites are required when data is a DemandFrame")
        sites = data.sites
    missing = {"site_id", "date", "admissions", "electives_planned"} - set(demand.columns)
    if missing:
        raise ValueError(f"demand lacks column(s): {', '.join(sorted(missing))}")
    if not pd.api.types.is_datetime64_any_dtype(demand["date"]):
        demand = demand.assign(date=pd.to_datetime(demand["date"]))
    by_id = {p.site_id: p for p in sites}
    frames = []
    for site_id, g in demand.groupby("site_id", sort=True):
        if site_id not in by_id:
            raise ValueError(f"no site profile for site_id {site_id!r}")
        frames.append(_site_episodes(by_id[str(site_id)], g, seed, episodes_per_site_day))
    out = pd.concat(frames, ignore_index=True)
    return out.loc[:, list(EPISODE_COLUMNS)]
