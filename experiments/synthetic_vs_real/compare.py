"""Compare the shape of the synthetic default data with real ED series (Bern, Iowa).

Usage (from the repository root; DATA_DIR defaults to ../shared/data):

    .venv/bin/python experiments/synthetic_vs_real/compare.py [DATA_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

from forecasting.data.profile import profile_frame, profile_series
from forecasting.data.synth import synth_demand, true_readmission_risk

COLUMNS = [
    "series",
    "weekly_ratio",
    "busiest",
    "seasonal_ratio",
    "peak_month",
    "surge_rate",
    "cv",
    "admissions_peak",
    "readmit_30d",
]


def synthetic_rows() -> list[dict]:
    data = synth_demand(n_sites=4, years=3.0, seed=0)
    att = profile_frame(data.demand, "attendances")
    adm = profile_frame(data.demand, "admissions").set_index("site_id")
    ep = data.episodes
    prevalence = ep.groupby("site_id")["readmitted_30d"].mean()
    auc = roc_auc_score(ep["readmitted_30d"], true_readmission_risk(ep))
    print(
        f"synthetic episodes: {len(ep):,} ({ep['patient_id'].nunique():,} patients), "
        f"readmission prevalence {ep['readmitted_30d'].mean():.3f}, AUROC of true risk {auc:.3f}; "
        f"injected surge days {len(data.surges) / len(data.demand):.3f} of site-days"
    )
    return [
        {
            "series": f"synthetic {r.site_id}",
            "weekly_ratio": r.weekly_ratio,
            "busiest": r.busiest_weekday,
            "seasonal_ratio": r.seasonal_ratio,
            "peak_month": r.peak_month,
            "surge_rate": r.surge_rate,
            "cv": r.cv,
            "admissions_peak": adm.loc[r.site_id, "peak_month"],
            "readmit_30d": prevalence[r.site_id],
        }
        for r in att.itertuples()
    ]


def real_row(name: str, frame: pd.DataFrame, value: str) -> dict:
    p = profile_series(frame["date"], frame[value])
    return {
        "series": name,
        "weekly_ratio": p.weekly_ratio,
        "busiest": p.busiest_weekday,
        "seasonal_ratio": p.seasonal_ratio,
        "peak_month": p.peak_month,
        "surge_rate": p.surge_rate,
        "cv": p.cv,
        "admissions_peak": "",
        "readmit_30d": float("nan"),
    }


def real_rows(data_dir: Path) -> list[dict]:
    rows = []
    bern_file = data_dir / "bern_insel_ed_daily" / "insel_ed_visits_daily.csv"
    if bern_file.exists():
        bern = pd.read_csv(bern_file, parse_dates=["date"])
        bern = bern[bern["date"].dt.year.between(2014, 2019)]
        rows.append(real_row("Bern 2014-2019", bern, "hosp_counts"))
    iowa_file = data_dir / "uihc_ed_hourly" / "uihc_ed_arrivals_daily.csv"
    if iowa_file.exists():
        iowa = pd.read_csv(iowa_file, parse_dates=["date"])
        rows.append(real_row("Iowa (UIHC) 2013-2018", iowa, "arrivals"))
    uci_file = data_dir / "uci_diabetes_130us" / "diabetic_data.csv.gz"
    if uci_file.exists():
        uci = pd.read_csv(uci_file, usecols=["readmitted"])
        rows.append(
            {
                "series": "UCI Diabetes 130-US (<30 days)",
                "readmit_30d": float((uci["readmitted"] == "<30").mean()),
            }
        )
    return rows


def markdown(table: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return "" if pd.isna(v) else f"{v:.3f}"
        return "" if v is None or v is pd.NA else str(v)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    data_dir = Path(argv[0]) if argv else Path("../shared/data")
    table = pd.DataFrame(synthetic_rows() + real_rows(data_dir), columns=COLUMNS)
    print(markdown(table))


if __name__ == "__main__":
    main(sys.argv[1:])
