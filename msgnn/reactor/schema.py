"""Read a reactor log CSV, check it with pandera and convert every column to canonical SI units.

The documented format is in docs/reactor_schema.md. Problems that make the file unusable
(empty file, missing column, unreadable unit, text in a numeric column, negative sizes or
densities, infinite values, non-positive temperatures or residence times) raise InputFileError
naming the file, the column and the (1-based, header = line 1) file lines.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from msgnn.errors import InputFileError
from msgnn.reactor import units

CANONICAL = ["timestamp_s", "temperature_K", "supersaturation", "residence_time_s",
             "flow_m3_per_s", "size_m", "population_density_per_m4"]
EXAMPLES = {"timestamp": "timestamp_s", "temperature": "temperature_K",
            "residence_time": "residence_time_s", "size": "size_um",
            "population_density": "population_density_per_m4"}
MAX_LISTED = 8


def _line(index) -> int:
    return int(index) + 2  # data row 0 is on file line 2 (after the header)


def _describe(errors: SchemaErrors) -> str:
    """One line per failing column and check: the file lines and a few offending values."""
    fc = errors.failure_cases
    parts = []
    for (column, check), grp in fc.groupby(["column", "check"], sort=False, dropna=False):
        idx = grp["index"].dropna()
        lines = sorted({_line(i) for i in idx})
        shown = ", ".join(map(str, lines[:MAX_LISTED])) + (" ..." if len(lines) > MAX_LISTED else "")
        values = ", ".join(repr(v) for v in grp["failure_case"].head(3))
        where = f" on line(s) {shown}" if lines else ""
        parts.append(f"column '{column}' fails '{check}'{where} (e.g. {values}; "
                     f"{len(grp)} value(s))")
    return "; ".join(parts)


def _numeric_text(s: pd.Series) -> pd.Series:
    return s.isna() | pd.to_numeric(s, errors="coerce").notna()


def read_table(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Read and validate a reactor log.

    Returns (table, meta): the table has the canonical columns (SI units; absent optional
    channels are NaN) and ``raw_row`` (0-based data row in the file); meta has the column
    mapping, the unit conversions applied, whether the log is synthetic, and the row count."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    if path.stat().st_size == 0:
        raise InputFileError(path, "empty file (no header, no rows)")
    try:
        raw = pd.read_csv(path, dtype=str, skipinitialspace=True, comment="#")
    except pd.errors.EmptyDataError:
        raise InputFileError(path, "empty file (no header, no rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"not a readable CSV table: {exc}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    if len(raw) == 0:
        raise InputFileError(path, "no data rows after the header")

    # ---- which column is which quantity, in which unit
    found: dict[str, units.ColumnUnit] = {}
    ignored = []
    for name in raw.columns:
        if name in ("synthetic", "raw_row"):
            continue
        try:
            cu = units.parse_column(name)
        except units.UnitParseError as exc:
            raise InputFileError(path, f"column '{name}': {exc}") from None
        if cu is None:
            ignored.append(name)
            continue
        if cu.quantity in found:
            raise InputFileError(path, f"columns '{found[cu.quantity].column}' and '{name}' both "
                                       f"give the {cu.quantity.replace('_', ' ')}")
        found[cu.quantity] = cu
    missing = [q for q in units.REQUIRED if q not in found]
    if missing:
        desc = ", ".join(f"'{q}' (e.g. '{EXAMPLES[q]}')" for q in missing)
        raise InputFileError(path, f"missing required column(s) {desc}; found columns "
                                   f"{list(raw.columns)}")

    # ---- pandera, stage 1: every used column is numeric text (or empty)
    text_schema = pa.DataFrameSchema(
        {cu.column: pa.Column(None, pa.Check(_numeric_text, error="numeric value"),
                              nullable=True, coerce=False)
         for cu in found.values()}, strict=False)
    try:
        text_schema.validate(raw, lazy=True)
    except SchemaErrors as exc:
        raise InputFileError(path, "non-numeric values: " + _describe(exc)) from None

    # ---- convert to canonical SI columns (pint)
    table = pd.DataFrame({"raw_row": np.arange(len(raw))})
    conversions = []
    for q, cu in found.items():
        vals = pd.to_numeric(raw[cu.column], errors="coerce").to_numpy(dtype=float)
        table[cu.canonical] = units.to_canonical(vals, cu)
        if cu.column != cu.canonical:
            conversions.append({"column": cu.column, "to": cu.canonical, "unit": cu.unit})
    for c in CANONICAL:
        if c not in table:
            table[c] = np.nan
    table = table[["raw_row", *CANONICAL]]

    # ---- pandera, stage 2: physical ranges (NaN = dropout, cleaned later)
    def finite(s):
        return s.isna() | np.isfinite(s)

    fin = pa.Check(finite, error="finite (not inf)")
    value_schema = pa.DataFrameSchema({
        "timestamp_s": pa.Column(float, fin, nullable=True),
        "temperature_K": pa.Column(float, [fin, pa.Check.gt(0)], nullable=True),
        "supersaturation": pa.Column(float, fin, nullable=True),
        "residence_time_s": pa.Column(float, [fin, pa.Check.gt(0)], nullable=True),
        "flow_m3_per_s": pa.Column(float, [fin, pa.Check.ge(0)], nullable=True),
        "size_m": pa.Column(float, [fin, pa.Check.ge(0)], nullable=True),
        "population_density_per_m4": pa.Column(float, [fin, pa.Check.ge(0)], nullable=True),
    }, strict=False)
    try:
        value_schema.validate(table, lazy=True)
    except SchemaErrors as exc:
        msg = _describe(exc)
        for cu in found.values():  # name the file's column, not only the canonical one
            msg = msg.replace(f"column '{cu.canonical}'", f"column '{cu.column}'")
        raise InputFileError(path, "invalid values: " + msg) from None

    synthetic = False
    if "synthetic" in raw.columns:
        synthetic = bool(raw["synthetic"].astype(str).str.strip().str.lower()
                         .isin(["true", "1", "yes"]).any())
    meta = {"path": str(path), "n_rows_raw": int(len(raw)), "synthetic": synthetic,
            "columns": {q: cu.column for q, cu in found.items()}, "conversions": conversions,
            "ignored_columns": ignored}
    return table, meta
