"""Read demand files (CSV or Parquet) into tables and DemandFrames.

:func:`read_table` only reads: every CSV column comes back as a string, so that
:func:`~forecasting.data.validate.to_demand_frame` can report the raw bad value and its row.
:func:`load_demand` reads and validates in one call. Problems with the file itself (missing,
a directory, unreadable, empty, not UTF-8, malformed, unsupported type) raise
:class:`~forecasting.errors.DataFileError` with a one-line message and a fix.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import gzip
import io
import re
import zlib
from datetime import date
from pathlib import Path
from typing import Literal

import pandas as pd

from forecasting.data.resample import Resample
from forecasting.data.schema import ColumnMapping
from forecasting.data.segments import DEFAULT_SEGMENT_GAP_DAYS
from forecasting.data.validate import ROW_INDEX_NAME, to_demand_frame
from forecasting.errors import DataFileError, SchemaError

__all__ = ["load_demand", "read_table", "to_demand_frame"]

CSV_SUFFIXES = (".csv", ".txt", ".csv.gz", ".txt.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
_DELIMITERS = (",", ";", "\t")
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\r?\n)+")


def _kind(path: Path) -> Literal["csv", "parquet"]:
    """Tell the file format from the name, or raise for an unsupported one."""
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    suffix = "".join(path.suffixes[-2:]) or "(none)"
    fix = "save the data as CSV (.csv, UTF-8) or Parquet (.parquet)"
    if name.endswith((".xlsx", ".xls", ".xlsm", ".ods")):
        fix = "export the sheet as 'CSV UTF-8 (Comma delimited)' and pass the .csv file"
    raise DataFileError(f"unsupported file type '{suffix}'", path=path, fix=fix)


def _not_found(path: Path) -> DataFileError:
    """Build the error for a path that does not exist, suggesting a close name."""
    hint = ""
    parent = path.parent
    if parent.is_dir():
        try:
            names = sorted(entry.name for entry in parent.iterdir())
        except OSError:
            names = []
        close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.6)
        if close:
            hint = f" (did you mean '{parent / close[0]}'?)"
    elif not path.is_absolute():
        hint = f" (relative to {Path.cwd()})"
    return DataFileError(
        f"file not found{hint}", path=path, fix="check the path and the current directory"
    )


def _directory(path: Path) -> DataFileError:
    """Build the error for a directory given in place of a file, listing data files in it."""
    try:
        candidates = sorted(
            entry.name
            for entry in path.iterdir()
            if entry.name.lower().endswith(CSV_SUFFIXES + PARQUET_SUFFIXES)
        )
    except OSError:
        candidates = []
    inside = ""
    if candidates:
        shown = ", ".join(candidates[:3])
        if len(candidates) > 3:
            shown += f" and {len(candidates) - 3} more"
        inside = f" (it holds {shown})"
    return DataFileError(
        f"is a directory, not a file{inside}",
        path=path,
        fix="pass the path of a CSV or Parquet file",
    )


def _read_bytes(path: Path) -> bytes:
    """Read the whole file, turning OS errors into DataFileError."""
    try:
        return path.read_bytes()
    except PermissionError:
        raise DataFileError(
            "permission denied",
            path=path,
            fix="make the file readable by this user (e.g. chmod a+r) or copy it somewhere you can",
        ) from None
    except IsADirectoryError:
        raise _directory(path) from None
    except FileNotFoundError:
        raise _not_found(path) from None
    except OSError as error:
        raise DataFileError(
            f"cannot read the file ({error.strerror or error})",
            path=path,
            fix="check the file and the disk, then try again",
        ) from None


#: Leading bytes of binary formats people save under a .csv name: (magic, what it is, fix).
_BINARY_FORMATS = (
    (
        b"PK\x03\x04",
        "a ZIP archive (an Excel .xlsx/.ods workbook?), not CSV text",
        "open it in Excel and save as 'CSV UTF-8 (Comma delimited)', then pass that file",
    ),
    (
        b"\xd0\xcf\x11\xe0",
        "an old Excel .xls workbook, not CSV text",
        "open it in Excel and save as 'CSV UTF-8 (Comma delimited)', then pass that file",
    ),
    (b"PAR1", "a Parquet file, not CSV text", "rename it to end in .parquet"),
    (b"\x1f\x8b", "gzip-compressed, not plain CSV text", "rename it to end in .csv.gz"),
)


def _refuse_binary(data: bytes, path: Path) -> None:
    """Raise for a known binary format saved under a text name (e.g. an .xlsx renamed .csv)."""
    for magic, what, fix in _BINARY_FORMATS:
        if data.startswith(magic):
            raise DataFileError(f"the file is {what}", path=path, fix=fix)


def _decode(data: bytes, path: Path) -> str:
    """Decode UTF-8 (with or without BOM), naming the first bad byte and its line."""
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = start + error.start
        line = data.count(b"\n", 0, offset) + 1
        raise DataFileError(
            f"not UTF-8 text: byte 0x{data[offset]:02x} at byte offset {offset} (file line {line})",
            path=path,
            row=line - 1 if line > 1 else None,
            fix="re-save the file as UTF-8 (Excel: 'CSV UTF-8'; or iconv -f latin1 -t utf-8)",
        ) from None


def _delimiter(header: str) -> str:
    """Pick the delimiter the header line uses most (',' on a tie)."""
    counts = {delimiter: header.count(delimiter) for delimiter in _DELIMITERS}
    return max(_DELIMITERS, key=lambda delimiter: counts[delimiter])


def _parser_error(error: Exception, path: Path, skipped: int, delimiter: str) -> DataFileError:
    """Translate a pandas ParserError into a DataFileError naming the line."""
    text = " ".join(str(error).split())
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if fields:
        expected, line, saw = (int(group) for group in fields.groups())
        line += skipped
        shown = "tab" if delimiter == "\t" else f"'{delimiter}'"
        return DataFileError(
            f"malformed CSV: file line {line} has {saw} fields but the header has {expected}",
            path=path,
            row=line - 1,
            fix=f"check that line: a value containing {shown} must be in double quotes",
        )
    quote = re.search(r"EOF inside string starting at row (\d+)", text)
    if quote:
        line = int(quote.group(1)) + 1 + skipped
        return DataFileError(
            f"malformed CSV: a double quote opened on file line {line} is never closed",
            path=path,
            row=line - 1,
            fix="close or remove the stray double quote on that line",
        )
    return DataFileError(
        f"malformed CSV ({text})", path=path, fix="re-export the file as a plain CSV"
    )


def _read_csv(data: bytes, path: Path) -> pd.DataFrame:
    """Parse CSV bytes into a frame of strings indexed by data row number."""
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            raise DataFileError(
                "not a valid gzip file",
                path=path,
                fix="re-compress it with gzip, or drop the .gz from the name if it is plain text",
            ) from None
    _refuse_binary(data, path)
    text = _decode(data, path)
    stripped = _LEADING_BLANK_LINES.sub("", text)
    skipped = text.count("\n", 0, len(text) - len(stripped))
    if not stripped.strip():
        raise DataFileError(
            "file is empty",
            path=path,
            fix="export the data again: a header line, then one row per site and day",
        )
    header = stripped.splitlines()[0]
    delimiter = _delimiter(header)
    names = [name.strip() for name in next(csv.reader([header], delimiter=delimiter))]
    for position, name in enumerate(names):
        if name and name in names[:position]:
            raise SchemaError(
                "column appears more than once in the header",
                path=path,
                column=name,
                fix="rename or remove the repeated column",
            )
    try:
        frame = pd.read_csv(
            io.StringIO(stripped),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
        )
    except pd.errors.ParserError as error:
        raise _parser_error(error, path, skipped, delimiter) from None
    except pd.errors.EmptyDataError:
        raise DataFileError(
            "file is empty", path=path, fix="export the data again with a header line"
        ) from None
    frame.index = pd.RangeIndex(1, len(frame) + 1, name=ROW_INDEX_NAME)
    blank = (frame == "").all(axis=1)
    return frame.loc[~blank]


def _read_parquet(data: bytes, path: Path) -> pd.DataFrame:
    """Parse Parquet bytes into a typed frame indexed by data row number."""
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as error:  # pyarrow raises many types; any failure means unreadable
        first = " ".join(str(error).split())[:120]
        raise DataFileError(
            f"not a readable Parquet file ({type(error).__name__}: {first})",
            path=path,
            fix="re-export the file as Parquet, or as CSV",
        ) from None
    if not isinstance(frame.index, pd.RangeIndex) or any(frame.index.names):
        frame = frame.reset_index()
    frame.index = pd.RangeIndex(1, len(frame) + 1, name=ROW_INDEX_NAME)
    return frame


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file without interpreting its values.

    CSV (``.csv``, ``.txt``, optionally ``.gz``) must be UTF-8 (a BOM is accepted); the
    delimiter (``,``, ``;`` or tab) is taken from the header line. Every CSV cell is returned as
    a string (empty cells as ``""``), so validation can quote raw values; blank lines are
    dropped. Parquet (``.parquet``, ``.pq``) keeps its column types.

    Args:
        path: The file to read.

    Returns:
        The table, indexed by the 1-based data row number (header not counted; index name
        ``row``), so that row N of a CSV is its file line N + 1.

    Raises:
        DataFileError: The file is missing, a directory, unreadable, empty, not UTF-8,
            malformed, or of an unsupported type.
        SchemaError: A CSV header repeats a column name.
    """
    file = Path(path).expanduser()
    if not file.exists():
        raise _not_found(file)
    if file.is_dir():
        raise _directory(file)
    kind = _kind(file)
    data = _read_bytes(file)
    if not data:
        raise DataFileError(
            "file is empty (0 bytes)",
            path=file,
            fix="export the data again: a header line, then one row per site and day",
        )
    return _read_parquet(data, file) if kind == "parquet" else _read_csv(data, file)


def load_demand(
    path: str | Path,
    mapping: ColumnMapping | None = None,
    *,
    horizon: int = 7,
    gap_policy: Literal["fill", "refuse"] = "fill",
    as_of: date | str | None = None,
    default_site: str | None = None,
    max_count: float = 50_000,
    min_history: int | None = None,
    resample: Resample | None = None,
    segment_gap_days: int = DEFAULT_SEGMENT_GAP_DAYS,
) -> pd.DataFrame:
    """Read a demand file and validate it into a DemandFrame.

    Args:
        path: CSV or Parquet file (see :func:`read_table`).
        mapping: How the file's columns map to the contract; default: contract names.
        horizon: Forecast horizon in days; sets the default ``min_history``.
        gap_policy: ``"fill"`` imputes missing days (and warns); ``"refuse"`` raises.
        as_of: The day the data was extracted; default today.
        default_site: Site name for a file without a site column; default the file's stem.
        max_count: Largest plausible daily count.
        min_history: Days each site needs; default ``max(56, 4 * horizon)``.
        resample: ``"daily"`` aggregates hourly (sub-daily) rows to one row per site and day.
        segment_gap_days: Gaps of at most this many days are filled (or refused); longer gaps
            split a site's series into segments and are never imputed.

    Returns:
        The DemandFrame (see :func:`~forecasting.data.validate.to_demand_frame`), with
        ``attrs["source"]`` set to the path and ``attrs["target_role"]`` to the target's role.

    Raises:
        DataError: A subclass naming the file, row/column and fix (see :func:`read_table` and
            :func:`~forecasting.data.validate.to_demand_frame`).
    """
    raw = read_table(path)
    return to_demand_frame(
        raw,
        mapping,
        path=path,
        horizon=horizon,
        gap_policy=gap_policy,
        as_of=as_of,
        default_site=default_site,
        max_count=max_count,
        min_history=min_history,
        resample=resample,
        segment_gap_days=segment_gap_days,
    )
