"""A local history of issued warnings (SQLite), so alert quality can be judged later.

Each ``append`` is one transaction taken with ``BEGIN IMMEDIATE`` (one writer at a time; others
wait up to the busy timeout): a run's rows are all there or none are, even when two runs
overlap or a run dies half-way (SQLite's journal rolls the half-written transaction back).
The schema is versioned in the ``meta`` table; reasons are stored as JSON text.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from forecasting.errors import SchemaError
from forecasting.escalation.assess import WARNING_COLUMNS
from forecasting.escalation.errors import WarningHistoryError
from forecasting.escalation.levels import LEVEL_NAMES
from forecasting.escalation.thresholds import SURGE_KIND_COLUMNS

SCHEMA_VERSION = 3
# version 2 added both kinds of surge; a version-1 file gains these columns (empty for old runs)
ADDED_IN_2 = SURGE_KIND_COLUMNS
# version 3 added bed pressure (forecast occupancy and its OPEL-style score); optional in a run
# (empty where the target is attendances); ``parameters`` is stored as JSON text
ADDED_IN_3 = (
    "occupancy_q0.05",
    "occupancy_q0.95",
    "p_occupancy_ge_0.92",
    "p_occupancy_ge_0.95",
    "p_occupancy_ge_0.97",
    "p_above_own_normal",
    "opel_score",
    "parameters",
)
BUSY_TIMEOUT_S = 30.0
RUN_COLUMNS = ("run_id", "issued_at", "model_ref")


def _sql_name(col: str) -> str:
    """A column's SQL-friendly name: no dots (``occupancy_q0.05`` -> ``occupancy_q05``)."""
    return col.replace("q0.", "q").replace("ge_0.", "ge_0")


# Stored columns: the warning columns under SQL-friendly names (no level_name: derived).
_SQL_NAMES = {col: _sql_name(col) for col in (*WARNING_COLUMNS, *ADDED_IN_3) if col != "level_name"}
_OPTIONAL = {*ADDED_IN_3}
# columns every warning has, whatever its target (attendances or beds occupied)
_SHARED = {
    "site_id",
    "as_of",
    "date",
    "horizon",
    "model",
    "level",
    "beds",
    "occupancy",
    "electives_planned",
    "electives_deferrable",
    "electives_to_review",
    "reasons",
    "advice",
}
_TEXT = {"site_id", "as_of", "date", "model", "reasons", "advice", "surge_kind", "parameters"}
_INTEGER = {"horizon", "level", "electives_planned", "electives_deferrable", "electives_to_review"}


def _sql_type(col: str) -> str:
    return "TEXT" if col in _TEXT else "INTEGER" if col in _INTEGER else "REAL"


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, issued_at TEXT NOT NULL, "
    "model_ref TEXT NOT NULL, n_rows INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS warnings (run_id TEXT NOT NULL REFERENCES runs(run_id), "
    + ", ".join(f"{name} {_sql_type(col)}" for col, name in _SQL_NAMES.items())
    + ", PRIMARY KEY (run_id, site_id, date))",
)


class WarningHistory:
    """Warnings issued so far, in a SQLite file (created on the first append).

    Args:
        path: The SQLite file.
        timeout: Seconds to wait for another writer before giving up.
    """

    def __init__(self, path: str | Path, timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        self.timeout = timeout

    def _connect(self) -> sqlite3.Connection:
        path = Path(self.path)
        if path.is_dir():
            raise WarningHistoryError(
                "is a folder, not a warning history file",
                path=self.path,
                fix="give --history a file name, e.g. forecasting-warnings.db",
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc) from exc
        return con

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on error."""
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            raise self._error(exc) from exc
        finally:
            con.close()

    def _error(self, exc: sqlite3.Error | OSError) -> WarningHistoryError:
        """The one-line error for a failed SQLite call on this file."""
        text = str(exc)
        lowered = text.lower()
        if "locked" in lowered or "busy" in lowered:
            problem = f"warning history is locked by another run for over {self.timeout:g} s"
            fix = "wait for the other run to finish, then try again"
        elif "full" in lowered or "no space" in lowered:
            problem = f"cannot write the warning history: the disk is full ({text})"
            fix = "free disk space, then run again (nothing was recorded)"
        elif "readonly" in lowered or "read-only" in lowered or "permission" in lowered:
            problem = f"cannot write the warning history ({text})"
            fix = "choose a --history file in a folder you may write to, or fix its permissions"
        elif "unable to open" in lowered or isinstance(exc, OSError):
            problem = f"cannot open the warning history ({text})"
            fix = "give --history a file in an existing, writable folder"
        elif "i/o" in lowered:
            problem = f"cannot read or write the warning history ({text})"
            fix = "check the disk, then run again"
        else:
            problem = f"not a warning history this version can use ({text})"
            fix = "point to another history file or move this one aside"
        return WarningHistoryError(problem, path=self.path, fix=fix)

    def check(self) -> None:
        """Fail early, writing nothing, if this history could not take an :meth:`append`.

        A missing file is fine if its folder is writable (it is created on the first append).

        Raises:
            WarningHistoryError: The path is a folder, not an SQLite file, a history of another
                schema (version or columns), or locked for longer than the timeout.
        """
        path = Path(self.path)
        if not path.exists():
            from forecasting.io import check_writable_file

            try:
                check_writable_file(path)
            except OSError as exc:
                raise self._error(exc) from exc
            return
        con = self._connect()
        try:
            rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = {r[0] for r in rows}
            if not tables:
                return  # an empty SQLite file: the schema is created on the first append
            if "meta" in tables:
                row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if row is not None and row[0] not in ("1", "2", str(SCHEMA_VERSION)):
                    raise WarningHistoryError(
                        f"warning history has schema version {row[0]}, this version reads "
                        f"{SCHEMA_VERSION}",
                        path=self.path,
                        fix="upgrade forecasting or start a new history file",
                    )
            for table, wanted in (("runs", RUN_COLUMNS), ("warnings", _SQL_NAMES.values())):
                if table not in tables:
                    continue
                have = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
                added = {_sql_name(c) for c in (*ADDED_IN_2, *ADDED_IN_3)}
                missing = [c for c in wanted if c not in have and c not in added]
                if missing:
                    raise WarningHistoryError(
                        f"not a warning history this version can use (table {table} has no "
                        f"column {missing[0]})",
                        path=self.path,
                        fix="point to another history file or move this one aside",
                    )
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        finally:
            con.close()

    def _ensure_schema(self, con: sqlite3.Connection) -> None:
        for statement in _SCHEMA:
            con.execute(statement)
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            con.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        elif row[0] in ("1", "2"):
            self._migrate(con)
        elif row[0] != str(SCHEMA_VERSION):
            raise WarningHistoryError(
                f"warning history has schema version {row[0]}, this version reads {SCHEMA_VERSION}",
                path=self.path,
                fix="upgrade forecasting or start a new history file",
            )

    @staticmethod
    def _migrate(con: sqlite3.Connection) -> None:
        """Add the columns of versions 2 and 3 (inside the caller's transaction)."""
        have = {r[1] for r in con.execute("PRAGMA table_info(warnings)")}
        for col in (*ADDED_IN_2, *ADDED_IN_3):
            name = _sql_name(col)
            if name not in have:
                con.execute(f"ALTER TABLE warnings ADD COLUMN {name} {_sql_type(col)}")
        con.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
        )

    def _insert_rows(
        self, con: sqlite3.Connection, run_id: str, rows: Sequence[tuple[Any, ...]]
    ) -> None:
        names = ["run_id", *_SQL_NAMES.values()]
        sql = f"INSERT INTO warnings ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        con.executemany(sql, [(run_id, *row) for row in rows])

    def append(self, frame: pd.DataFrame, issued_at: datetime, model_ref: str) -> str:
        """Store one run's warnings (the output of ``assess``) in one transaction.

        Args:
            frame: Warning rows with the columns of ``WARNING_COLUMNS``.
            issued_at: When the warnings were issued.
            model_ref: Which model made them (e.g. a registry URI or run id).

        Returns:
            The new run's id.

        Raises:
            SchemaError: If ``frame`` lacks a warning column.
            WarningHistoryError: If the file is not a usable history, or stays locked.
        """
        rows = _rows(frame)
        run_id = uuid.uuid4().hex
        with self._transaction() as con:
            self._ensure_schema(con)
            con.execute(
                "INSERT INTO runs (run_id, issued_at, model_ref, n_rows) VALUES (?, ?, ?, ?)",
                (run_id, issued_at.isoformat(), str(model_ref), len(rows)),
            )
            self._insert_rows(con, run_id, rows)
        return run_id

    def read(self) -> pd.DataFrame:
        """All stored warnings with their run's ``run_id``, ``issued_at`` and ``model_ref``.

        Returns:
            One row per warning, oldest run first; ``reasons`` as lists, dates as timestamps.
            Empty (with the columns) when the file does not exist yet.

        Raises:
            WarningHistoryError: If the file is not a usable history.
        """
        columns = [*RUN_COLUMNS, *WARNING_COLUMNS, *ADDED_IN_3]
        if not Path(self.path).exists():
            return pd.DataFrame(columns=columns)
        names = ", ".join(f"w.{n}" for n in _SQL_NAMES.values())
        sql = (
            f"SELECT r.run_id, r.issued_at, r.model_ref, {names} FROM warnings w "
            "JOIN runs r USING (run_id) ORDER BY r.issued_at, r.run_id, w.site_id, w.date"
        )
        with self._transaction() as con:
            self._ensure_schema(con)
            data = con.execute(sql).fetchall()
        frame = pd.DataFrame(data, columns=[*RUN_COLUMNS, *_SQL_NAMES])
        frame["reasons"] = [json.loads(r) for r in frame["reasons"]]
        frame["parameters"] = [None if p is None else json.loads(p) for p in frame["parameters"]]
        for col in ("as_of", "date"):
            frame[col] = pd.to_datetime(frame[col])
        frame["level_name"] = frame["level"].map(LEVEL_NAMES)
        return frame[columns]


def _rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    pressure = "opel_score" in frame.columns  # bed-pressure warnings: no attendance columns
    missing = [
        c
        for c in _SQL_NAMES
        if c not in frame.columns and c not in _OPTIONAL and (not pressure or c in _SHARED)
    ]
    if missing:
        raise SchemaError(
            "warnings lack a column the history stores",
            column=missing[0],
            fix="append the output of forecasting.escalation.assess",
        )
    out = []
    full = frame.reindex(columns=list(_SQL_NAMES))
    for rec in full.to_dict(orient="records"):
        values: list[Any] = []
        for col, value in rec.items():
            if col == "reasons":
                values.append(json.dumps([str(r) for r in value]))
            elif col == "parameters":
                values.append(None if not isinstance(value, dict) else json.dumps(value))
            elif not isinstance(value, list | dict) and pd.isna(value):
                values.append(None)
            elif col in ("as_of", "date"):
                values.append(pd.Timestamp(value).date().isoformat())
            elif col in _TEXT:
                values.append(str(value))
            elif col in _INTEGER:
                values.append(int(value))
            else:
                values.append(None if pd.isna(value) else float(value))
        out.append(tuple(values))
    return out
