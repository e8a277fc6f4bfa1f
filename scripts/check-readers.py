#!/usr/bin/env python3
"""Read every table of hedgesim result directories with the default,
type-inferring readers of polars, DuckDB and pandas, and fail if any
column is read with the wrong type (docs/outputs.md, "Numbers").

    scripts/check-readers.py RESULT_DIR...

RESULT_DIR may be a `run` result or an `explore` result. Expected types,
by column name: whole numbers for `step`, `n`, `run`, `count`,
`still_hedging` and `onsets.*`; text for `metric`, `subject`, `posture`
and `first_exit_posture`; a boolean for `returned_to_hedging`; a float for
every other column. In explore's tables also whole numbers for `point`,
`year`, `cases` and `restricted`, text for `outcome`, `parameter` and
`phase`, booleans for `chosen` and `is_restricted`. Every reader must also
read the column names exactly as the header spells them (a quoted header
such as `"event.""X"".a"` is read back with its quotes by some readers). A text column that is empty in every row
may be read as anything (no reader can type an empty column). Exit code 0
if every reader reads every column as expected, 1 otherwise, 2 on usage
errors.
"""

import sys
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl

import csv

RUN_TABLES = ["summary.csv", "outcomes.csv", "runs.csv", "survival.csv", "trajectories.csv"]
EXPLORE_TABLES = ["design.csv", "points.csv", "sensitivity.csv", "discovery.csv"]
TABLES = RUN_TABLES + EXPLORE_TABLES
WHOLE = {"step", "n", "run", "count", "still_hedging"}
TEXT = {"metric", "subject", "posture", "first_exit_posture"}
BOOL = {"returned_to_hedging"}
EXPLORE_WHOLE = {"point", "year", "cases", "restricted"}
EXPLORE_TEXT = {"outcome", "parameter", "phase"}
EXPLORE_BOOL = {"chosen", "is_restricted"}


def expected(column: str, table: str = "") -> str:
    explore = table in EXPLORE_TABLES
    if column in WHOLE or column.startswith("onsets.") or (explore and column in EXPLORE_WHOLE):
        return "int"
    if column in TEXT or (explore and column in EXPLORE_TEXT):
        return "text"
    if column in BOOL or (explore and column in EXPLORE_BOOL):
        return "bool"
    return "float"


def kind_polars(dtype) -> str:
    if dtype.is_float():
        return "float"
    if dtype.is_integer():
        return "int"
    if dtype == pl.Boolean:
        return "bool"
    return "text"


def kind_duckdb(type_name: str) -> str:
    t = type_name.upper()
    if t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL"):
        return "float"
    if t in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"):
        return "int"
    if t == "BOOLEAN":
        return "bool"
    return "text"


def kind_pandas(dtype) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    return "text"


def check(path: Path) -> list[str]:
    problems = []
    readers = {
        "polars": lambda: {c: kind_polars(t) for c, t in pl.read_csv(path).schema.items()},
        "duckdb": lambda: {
            c: kind_duckdb(str(t))
            for c, t in zip(*_duck_columns(path))
        },
        "pandas": lambda: {c: kind_pandas(t) for c, t in pd.read_csv(path).dtypes.items()},
    }
    empty = {c for c, s in pd.read_csv(path, dtype=str, keep_default_na=False).items() if (s == "").all()}
    with open(path, newline="") as f:
        header = next(csv.reader(f))
    for reader, read in readers.items():
        try:
            kinds = read()
        except Exception as e:  # noqa: BLE001 - any reader failure is a finding
            problems.append(f"{path}: {reader} cannot read it: {e}")
            continue
        if list(kinds) != header:
            problems.append(f"{path}: {reader} reads the column names {list(kinds)}, the header spells {header}")
            continue
        for column, kind in kinds.items():
            want = expected(column, path.name)
            if kind != want and not (want == "text" and column in empty):
                problems.append(f"{path}: {reader} reads column `{column}` as {kind}, expected {want}")
    return problems


def _duck_columns(path: Path):
    rel = duckdb.sql(f"SELECT * FROM read_csv('{path.as_posix()}')")
    return rel.columns, rel.dtypes


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    problems, checked = [], 0
    for d in map(Path, argv[1:]):
        if not d.is_dir():
            print(f"{d}: not a result directory", file=sys.stderr)
            return 2
        for name in TABLES:
            if (d / name).is_file():
                problems += check(d / name)
                checked += 1
    for p in problems:
        print(p, file=sys.stderr)
    print(f"check-readers: {checked} tables, {len(problems)} problems (polars {pl.__version__}, "
          f"duckdb {duckdb.__version__}, pandas {pd.__version__})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
