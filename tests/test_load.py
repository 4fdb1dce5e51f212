"""Reading demand files: file-level errors a user can act on, and the happy paths."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.data.load import load_demand, read_table
from forecasting.data.schema import IMPUTED, ColumnMapping
from forecasting.errors import DataError, DataFileError, SchemaError

pytestmark = pytest.mark.filterwarnings("ignore::forecasting.errors.ShortHistoryWarning")

AS_OF = "2025-01-01"


def csv_text(
    sites: tuple[str, ...] = ("A", "B"), days: int = 70, start: str = "2024-01-01", sep: str = ","
) -> str:
    lines = [sep.join(["site_id", "date", "attendances", "temperature"])]
    for site in sites:
        for i, day in enumerate(pd.date_range(start, periods=days)):
            lines.append(sep.join([site, f"{day:%Y-%m-%d}", str(100 + i % 7), f"{i / 10:.1f}"]))
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def one_line(error: pytest.ExceptionInfo[DataError]) -> str:
    text = str(error.value)
    assert "\n" not in text and "\r" not in text
    assert error.value.fix
    return text


# --- broken files ---------------------------------------------------------------------------


def test_read_table_raises_when_file_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "demand.csv"
    with pytest.raises(DataFileError) as error:
        read_table(path)
    text = one_line(error)
    assert text.startswith(f"{path}: file not found")
    assert "Fix: check the path" in text
    assert error.value.path == str(path)


def test_read_table_suggests_name_when_a_similar_file_exists(tmp_path: Path) -> None:
    write(tmp_path, "demand.csv", csv_text())
    with pytest.raises(DataFileError) as error:
        read_table(tmp_path / "demnad.csv")
    assert f"did you mean '{tmp_path / 'demand.csv'}'?" in one_line(error)


def test_read_table_raises_when_path_is_a_directory(tmp_path: Path) -> None:
    write(tmp_path, "demand.csv", csv_text())
    with pytest.raises(DataFileError) as error:
        read_table(tmp_path)
    text = one_line(error)
    assert "is a directory, not a file (it holds demand.csv)" in text
    assert "Fix: pass the path of a CSV or Parquet file" in text


def test_read_table_raises_when_permission_is_denied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "demand.csv", csv_text())

    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(DataFileError) as error:
        read_table(path)
    text = one_line(error)
    assert f"{path}: permission denied" in text
    assert "chmod" in text


def test_read_table_raises_when_file_is_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "demand.csv", b"")
    with pytest.raises(DataFileError) as error:
        read_table(path)
    assert f"{path}: file is empty (0 bytes)" in one_line(error)


def test_read_table_raises_when_file_has_only_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "demand.csv", "\n  \n\n")
    with pytest.raises(DataFileError) as error:
        read_table(path)
    assert "file is empty" in one_line(error)


def test_load_demand_raises_when_file_has_only_a_header(tmp_path: Path) -> None:
    path = write(tmp_path, "demand.csv", "site_id,date,attendances\n")
    with pytest.raises(DataFileError) as error:
        load_demand(path, as_of=AS_OF)
    assert f"{path}: the data has a header but no rows" in one_line(error)


def test_read_table_raises_when_bytes_are_not_utf8(tmp_path: Path) -> None:
    data = "date,attendances,site_id\n2024-01-01,5,Bern\n2024-01-02,6,Zürich\n".encode("latin-1")
    path = write(tmp_path, "demand.csv", data)
    offset = data.index(b"\xfc")
    with pytest.raises(DataFileError) as error:
        read_table(path)
    text = one_line(error)
    assert f"row 2: not UTF-8 text: byte 0xfc at byte offset {offset} (file line 3)" in text
    assert "re-save the file as UTF-8" in text
    assert error.value.row == 2


def test_read_table_raises_when_file_starts_with_a_utf16_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "demand.csv", b"\xff\xfe" + "date,attendances\n".encode("utf-16-le"))
    with pytest.raises(DataFileError) as error:
        read_table(path)
    assert "not UTF-8 text: byte 0xff at byte offset 0 (file line 1)" in one_line(error)
    assert error.value.row is None


def test_read_table_accepts_a_utf8_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "demand.csv", b"\xef\xbb\xbf" + csv_text().encode())
    table = read_table(path)
    assert list(table.columns) == ["site_id", "date", "attendances", "temperature"]


def test_read_table_raises_when_a_line_has_too_many_fields(tmp_path: Path) -> None:
    text = "site_id,date,attendances\nA,2024-01-01,5\nA,2024-01-02,6\nA,2024-01-03,7,12\n"
    path = write(tmp_path, "demand.csv", text)
    with pytest.raises(DataFileError) as error:
        read_table(path)
    message = one_line(error)
    assert "row 3: malformed CSV: file line 4 has 4 fields but the header has 3" in message
    assert "must be in double quotes" in message
    assert error.value.row == 3


def test_read_table_raises_when_a_quote_is_never_closed(tmp_path: Path) -> None:
    text = 'site_id,date,attendances\nA,2024-01-01,5\n"A,2024-01-02,6\nA,2024-01-03,7\n'
    path = write(tmp_path, "demand.csv", text)
    with pytest.raises(DataFileError) as error:
        read_table(path)
    message = one_line(error)
    assert "row 2: malformed CSV: a double quote opened on file line 3 is never closed" in message
    assert error.value.row == 2


def test_read_table_raises_when_extension_is_unsupported(tmp_path: Path) -> None:
    path = write(tmp_path, "demand.xlsx", b"PK\x03\x04")
    with pytest.raises(DataFileError) as error:
        read_table(path)
    text = one_line(error)
    assert "unsupported file type '.xlsx'" in text
    assert "CSV UTF-8" in text


def test_read_table_raises_when_parquet_is_corrupt(tmp_path: Path) -> None:
    path = write(tmp_path, "demand.parquet", b"this is not parquet at all")
    with pytest.raises(DataFileError) as error:
        read_table(path)
    assert f"{path}: not a readable Parquet file" in one_line(error)


def test_read_table_raises_when_gzip_is_corrupt(tmp_path: Path) -> None:
    path = write(tmp_path, "demand.csv.gz", csv_text())
    with pytest.raises(DataFileError) as error:
        read_table(path)
    assert "not a valid gzip file" in one_line(error)


def test_read_table_raises_when_header_repeats_a_column(tmp_path: Path) -> None:
    path = write(tmp_path, "demand.csv", "date,attendances,attendances\n2024-01-01,5,6\n")
    with pytest.raises(SchemaError) as error:
        read_table(path)
    assert "column 'attendances': column appears more than once in the header" in one_line(error)


def test_load_demand_counts_rows_from_the_file_when_blank_lines_are_skipped(
    tmp_path: Path,
) -> None:
    text = "site_id,date,attendances\nA,2024-01-01,5\n\nA,2024-01-02,many\n"
    path = write(tmp_path, "demand.csv", text)
    with pytest.raises(DataError) as error:
        load_demand(path, as_of=AS_OF, min_history=1)
    assert f"{path}, row 3, column 'attendances': value 'many' is not a number" in one_line(error)


# --- happy paths ----------------------------------------------------------------------------


def test_read_table_returns_strings_indexed_by_row_when_csv_is_valid(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "demand.csv", csv_text(days=3)))
    assert table.index.name == "row"
    assert list(table.index) == [1, 2, 3, 4, 5, 6]
    assert table.loc[2, "attendances"] == "101"
    assert all(table[column].map(lambda v: isinstance(v, str)).all() for column in table.columns)


def test_load_demand_returns_demand_frame_when_csv_has_several_sites(tmp_path: Path) -> None:
    path = write(tmp_path, "demand.csv", csv_text(sites=("B", "A"), days=70))
    frame = load_demand(path, as_of=AS_OF)
    assert list(frame.columns) == ["site_id", "date", "attendances", "temperature", IMPUTED]
    assert frame.shape == (140, 5)
    assert frame["site_id"].tolist() == ["A"] * 70 + ["B"] * 70
    assert frame["date"].dtype == np.dtype("datetime64[ns]")
    assert frame["attendances"].dtype == np.float64
    assert frame["temperature"].dtype == np.float64
    assert frame[IMPUTED].dtype == bool and not frame[IMPUTED].any()
    assert frame.groupby("site_id")["date"].apply(lambda d: d.is_monotonic_increasing).all()
    assert frame.index.equals(pd.RangeIndex(140))
    assert frame.attrs["source"] == str(path)


def test_load_demand_treats_file_as_one_site_when_it_has_no_site_column(tmp_path: Path) -> None:
    days = pd.date_range("2022-01-01", periods=60)
    table = pd.DataFrame(
        {
            "date": days.strftime("%Y-%m-%d"),
            "hosp_counts": [f"{100 + i % 7}.0" for i in range(60)],
            "mean_temp": [f"{i / 3:.2f}" for i in range(60)],
            "min_temp": [f"{i / 4:.2f}" for i in range(60)],
        }
    )
    path = tmp_path / "insel_ed_visits_daily.csv"
    table.to_csv(path, index=False)
    mapping = ColumnMapping(
        site_id=None, date="date", attendances="hosp_counts", extra={"temperature": "mean_temp"}
    )
    frame = load_demand(path, mapping, as_of=AS_OF)
    assert set(frame["site_id"]) == {"insel_ed_visits_daily"}
    assert list(frame.columns) == [
        "site_id",
        "date",
        "attendances",
        "temperature",
        "min_temp",
        IMPUTED,
    ]
    assert frame["attendances"].iloc[0] == 100.0
    assert frame["temperature"].iloc[3] == pytest.approx(1.0)
    # The default mapping also reads it as one site when there is no `site_id` column.
    same = load_demand(path, ColumnMapping(attendances="hosp_counts"), as_of=AS_OF)
    assert same["site_id"].unique().tolist() == ["insel_ed_visits_daily"]
    named = load_demand(path, mapping, as_of=AS_OF, default_site="Insel")
    assert named["site_id"].unique().tolist() == ["Insel"]


def test_load_demand_reads_semicolons_when_file_is_semicolon_separated(tmp_path: Path) -> None:
    path = write(tmp_path, "demand.csv", csv_text(days=60, sep=";"))
    frame = load_demand(path, as_of=AS_OF)
    assert frame.shape == (120, 5)
    assert frame["attendances"].iloc[1] == 101.0


def test_load_demand_reads_gzip_when_name_ends_in_csv_gz(tmp_path: Path) -> None:
    path = write(tmp_path, "demand.csv.gz", gzip.compress(csv_text(days=60).encode()))
    frame = load_demand(path, as_of=AS_OF)
    assert frame.shape == (120, 5)
    assert frame["site_id"].iloc[0] == "A"


def test_load_demand_round_trips_when_file_is_parquet(tmp_path: Path) -> None:
    original = load_demand(write(tmp_path, "demand.csv", csv_text(days=60)), as_of=AS_OF)
    path = tmp_path / "demand.parquet"
    original.to_parquet(path)
    again = load_demand(path, as_of=AS_OF)
    pd.testing.assert_frame_equal(again, original)
    assert again.attrs["source"] == str(path)


def test_load_demand_reports_the_row_when_parquet_has_a_bad_value(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "site_id": ["A"] * 60,
            "date": pd.date_range("2024-01-01", periods=60),
            "attendances": [10.0] * 59 + [-4.0],
        }
    )
    path = tmp_path / "demand.pq"
    frame.to_parquet(path, index=False)
    with pytest.raises(DataError) as error:
        load_demand(path, as_of=AS_OF)
    assert f"{path}, row 60, column 'attendances': negative count '-4.0'" in one_line(error)
