from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.errors import ConfigError, DataValueError, SchemaError
from forecasting.readmission.charlson import charlson_conditions, charlson_index, normalise_code
from forecasting.readmission.columns import EpisodeColumns, load_columns
from forecasting.readmission.features import EpisodeFeatures, diagnosis_group, history_features
from forecasting.readmission.lace import (
    acuity_points,
    comorbidity_points,
    ed_visit_points,
    lace_points,
    length_of_stay_points,
)
from forecasting.readmission.load import load_episodes, to_episode_frame

UCI_COLUMNS = EpisodeColumns(
    episode_id="encounter_id", patient_id="patient_nbr", label="readmitted", positive="<30"
)


# --- LACE points: every band of every component, by hand -------------------------------------


@pytest.mark.parametrize(
    ("days", "points"),
    [(0, 0), (0.5, 0), (1, 1), (2, 2), (3, 3), (4, 4), (6, 4), (7, 5), (13, 5), (14, 7), (60, 7)],
)
def test_length_of_stay_points_when_each_band(days, points):
    assert length_of_stay_points([days])[0] == points


@pytest.mark.parametrize(("emergency", "points"), [(1, 3), (True, 3), (0, 0), (np.nan, 0)])
def test_acuity_points_when_emergency_or_elective(emergency, points):
    assert acuity_points([emergency])[0] == points


@pytest.mark.parametrize(("cci", "points"), [(0, 0), (1, 1), (2, 2), (3, 3), (4, 5), (9, 5)])
def test_comorbidity_points_when_each_charlson_band(cci, points):
    assert comorbidity_points([cci])[0] == points


@pytest.mark.parametrize(("visits", "points"), [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (12, 4)])
def test_ed_visit_points_when_each_band(visits, points):
    assert ed_visit_points([visits])[0] == points


def test_lace_points_when_hand_computed_examples():
    frame = lace_points([5, 14, 0], [1, 1, 0], [2, 4, 0], [1, 4, 0])
    # 4 + 3 + 2 + 1 = 10; the maximum 7 + 3 + 5 + 4 = 19; the minimum 0
    assert frame["lace"].tolist() == [10, 19, 0]
    assert frame.loc[0, ["lace_l", "lace_a", "lace_c", "lace_e"]].tolist() == [4, 3, 2, 1]


# --- Charlson index from ICD codes -----------------------------------------------------------


def test_normalise_code_when_icd9_lost_leading_zeros():
    assert normalise_code("42", 9) == "042"
    assert normalise_code("70.54", 9) == "07054"
    assert normalise_code("V42.0", 9) == "V420"
    assert normalise_code("I50.9", 10) == "I509"
    assert normalise_code("?", 9) == ""


@pytest.mark.parametrize(
    ("codes", "index"),
    [
        (["428.0", "?", "?"], 1),  # heart failure
        (["250.00", "250.43", "?"], 2),  # complicated diabetes replaces plain diabetes
        (["197.0", "174.9", "?"], 6),  # metastasis replaces malignancy
        (["42", "?", "?"], 6),  # HIV written without its leading zero
        (["V42.0", "410.01", "496"], 4),  # renal (transplant) 2 + MI 1 + COPD 1
        (["E909", "V57", "786"], 0),  # external cause, rehabilitation, symptom: none
        (["585", "403.91", "?"], 2),  # renal counted once whatever the number of codes
    ],
)
def test_charlson_index_when_icd9_codes(codes, index):
    frame = pd.DataFrame([codes], columns=["d1", "d2", "d3"])
    assert charlson_index(frame).iloc[0] == index


def test_charlson_index_when_icd10_codes_detected():
    frame = pd.DataFrame(
        {"d1": ["I50.9", "E11.9", "E11.21", "C78.0"], "d2": ["", "", "N18.3", "C50.9"]}
    )
    assert charlson_index(frame).tolist() == [1, 1, 4, 6]
    flags = charlson_conditions(frame)
    assert flags.loc[2, "diabetes_complicated"] == 1 and flags.loc[2, "diabetes"] == 0


def test_diagnosis_group_when_icd9_and_icd10():
    assert diagnosis_group("428.0") == "circulatory"
    assert diagnosis_group("250.83") == "diabetes"
    assert diagnosis_group("V57") == "other"
    assert diagnosis_group("J44.1", 10) == "J"
    assert diagnosis_group(None) is None


# --- loading and validation ------------------------------------------------------------------


def _raw(**overrides):
    rows = {
        "episode_id": ["e1", "e2", "e3", "e4"],
        "patient_id": ["p1", "p1", "p2", "p3"],
        "admission_date": ["2024-01-01", "2024-02-01", "2024-01-05", "2024-01-09"],
        "discharge_date": ["2024-01-04", "2024-02-03", "2024-01-06", "2024-01-19"],
        "admission_type": ["emergency", "elective", "Urgent", "emergency"],
        "age": ["70", "70", "[40-50)", "85"],
        "sex": ["F", "F", "male", "F"],
        "prior_ed_visits_6m": ["1", "0", "2", "5"],
        "discharge_destination": ["home", "home", "care_home", "died"],
        "ward": ["A", "B", "A", "B"],
        "readmitted_30d": ["1", "0", "0", "0"],
    }
    rows.update(overrides)
    frame = pd.DataFrame(rows)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    return frame


def test_to_episode_frame_when_contract_columns():
    frame = to_episode_frame(_raw())
    # the death is left out and counted
    assert frame["episode_id"].tolist() == ["e1", "e2", "e3"]
    assert frame.attrs["excluded"] == 1
    assert frame["length_of_stay"].tolist() == [3.0, 2.0, 1.0]
    assert frame["emergency"].tolist() == [1.0, 0.0, 1.0]
    assert frame["age"].tolist() == [70.0, 70.0, 45.0]
    assert frame["sex"].tolist() == ["F", "F", "M"]
    assert frame["ed_visits_6m"].tolist() == [1.0, 0.0, 2.0]
    assert frame["label"].tolist() == [1.0, 0.0, 0.0]
    assert frame.attrs["categorical"] == ["ward"]


def test_to_episode_frame_when_id_column_missing_names_it():
    with pytest.raises(SchemaError, match=r"episode id column 'encounter' not found"):
        to_episode_frame(_raw(), EpisodeColumns(episode_id="encounter"))


def test_to_episode_frame_when_episode_id_repeats_names_row_not_value():
    with pytest.raises(DataValueError, match=r"row 2, column 'episode_id'") as info:
        to_episode_frame(_raw(episode_id=["e1", "e1", "e3", "e4"]))
    assert "'e1'" not in str(info.value)


def test_to_episode_frame_when_age_absurd_names_row_and_fix():
    with pytest.raises(DataValueError, match=r"row 3, column 'age': age '130'.*Fix:"):
        to_episode_frame(_raw(age=["70", "70", "130", "85"]))


def test_to_episode_frame_when_discharge_before_admission():
    dates = ["2024-01-04", "2024-01-31", "2024-01-06", "2024-01-19"]
    with pytest.raises(DataValueError, match=r"row 2, column 'discharge_date'.*before"):
        to_episode_frame(_raw(discharge_date=dates))


def test_to_episode_frame_when_positive_value_absent_lists_values():
    with pytest.raises(DataValueError, match=r"positive label value 'yes' \(values: '0', '1'\)"):
        to_episode_frame(_raw(), EpisodeColumns(positive="yes"))


def test_to_episode_frame_when_scoring_without_label_column():
    raw = _raw().drop(columns="readmitted_30d")
    frame = to_episode_frame(raw, require_label=False)
    assert frame["label"].isna().all()


def test_to_episode_frame_when_id_like_column_is_dropped_with_warning():
    raw = pd.concat([_raw()] * 30, ignore_index=True)
    raw["episode_id"] = [f"e{i}" for i in range(len(raw))]
    raw["nhs_number"] = [f"{9000000000 + i}" for i in range(len(raw))]
    raw.index = pd.RangeIndex(1, len(raw) + 1, name="row")
    with pytest.warns(UserWarning, match="nhs_number"):
        frame = to_episode_frame(raw)
    assert "nhs_number" not in frame


def test_load_columns_when_mapping_file(tmp_path: Path):
    path = tmp_path / "map.yaml"
    path.write_text("length_of_stay: time_in_hospital\ndiagnoses: [d1, d2]\nexclude: weight\n")
    cols = load_columns(path)
    assert cols.roles == {"length_of_stay": "time_in_hospital"}
    assert cols.diagnoses == ("d1", "d2") and cols.exclude == ("weight",)


def test_load_columns_when_unknown_key_names_it(tmp_path: Path):
    path = tmp_path / "map.yaml"
    path.write_text("lenght_of_stay: los\n")
    with pytest.raises(ConfigError, match="unknown key 'lenght_of_stay'"):
        load_columns(path)


def test_history_features_when_earlier_episodes_only():
    frame = to_episode_frame(_raw())
    history = history_features(frame)
    # p1's second episode sees the first (3 days, emergency, discharged 28 days before)
    assert history.loc[2].tolist() == [1.0, 1.0, 3.0, 28.0]
    assert history.loc[1, "prior_episodes"] == 0.0 and np.isnan(
        history.loc[1, "days_since_discharge"]
    )


def test_history_features_when_carried_takes_previous_and_max_before():
    raw = _raw(
        episode_id=["e1", "e2", "e3", "e4"],
        patient_id=["p1", "p1", "p1", "p2"],
        admission_date=["2024-03-01", "2024-01-01", "2024-02-01", "2024-01-09"],
        discharge_date=["2024-03-02", "2024-01-08", "2024-02-03", "2024-01-19"],
    )
    history = history_features(to_episode_frame(raw), ("length_of_stay",))
    # time order of p1: e2 (7 days), e3 (2 days), e1 (1 day); the file order does not matter
    assert history.loc[1, "previous_length_of_stay"] == 2.0
    assert history.loc[1, "max_before_length_of_stay"] == 7.0
    assert np.isnan(history.loc[2, "previous_length_of_stay"])
    assert history.loc[3, ["previous_length_of_stay", "max_before_length_of_stay"]].tolist() == [
        7.0,
        7.0,
    ]
    assert history.loc[1, "prior_episodes"] == 2.0


def test_episode_features_when_rare_level_becomes_other():
    raw = pd.concat([_raw()] * 10, ignore_index=True)
    raw["episode_id"] = [f"e{i}" for i in range(len(raw))]
    raw.loc[0, "ward"] = "rare"
    raw.index = pd.RangeIndex(1, len(raw) + 1, name="row")
    frame = to_episode_frame(raw)
    features = EpisodeFeatures(min_category_count=5).fit(frame)
    x = features.transform(frame)
    assert list(x["ward"].cat.categories) == ["A", "B", "other"]
    assert x.loc[1, "ward"] == "other"


UCI = Path(__file__).resolve().parents[2] / "shared" / "data" / "uci_diabetes_130us"


@pytest.mark.slow
@pytest.mark.skipif(not UCI.exists(), reason="../shared/data is not available")
def test_load_episodes_when_raw_uci_file():
    frame = load_episodes(UCI / "diabetic_data.csv.gz", UCI_COLUMNS)
    assert len(frame) == 99_343 and frame.attrs["excluded"] == 2_423
    assert frame["label"].sum() == 11_314
    assert frame.attrs["roles"]["length_of_stay"] == "time_in_hospital"
    assert frame.attrs["diagnoses"] == ["diag_1", "diag_2", "diag_3"]
