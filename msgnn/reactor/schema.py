"""Read a reactor log (CSV or Parquet), check it with pandera and convert every column to
canonical SI units.

The documented format is in docs/reactor_schema.md. The format follows the suffix: ``.parquet``
/ ``.pq`` is read with pyarrow, anything else as CSV; both carry the same columns, with the unit
in the column name. Problems that make the file unusable (unreadable or corrupt file, empty
file, missing column, unreadable unit, text or dates in a numeric column, negative sizes or
densities, infinite values, non-positive temperatures or residence times) raise InputFileError
naming the file, the column and where: file lines for a CSV (header = line 1, comment and blank
lines counted), 0-based rows for a Parquet file.
"""
from __future__ import annotations

import io
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
PARQUET_SUFFIXES = (".parquet", ".pq")
# the spellings of a missing value (a dropout, cleaned later) in a text cell of either format; a
# Parquet null too. Everything else that is not a number ("n/a", "NA", "NULL", "None", "-", "#N/A")
# is refused with its lines: it may mean something other than "no reading".
MISSING = ("", "NaN", "nan")
# physical range of each canonical column (SI): lower bounds, and upper bounds far beyond any
# crystallizer (a 32-year log, a 10 cm crystal) that keep every fit finite; |value| for the others
LOWER = {"timestamp_s": pa.Check.ge(0, error=">= 0"), "temperature_K": pa.Check.gt(0, error="> 0"),
         "residence_time_s": pa.Check.gt(0, error="> 0"), "flow_m3_per_s": pa.Check.ge(0, error=">= 0"),
         "size_m": pa.Check.ge(0, error=">= 0"), "population_density_per_m4": pa.Check.ge(0, error=">= 0")}
PHYSICAL_MAX = {"timestamp_s": 1e9, "temperature_K": 1e4, "supersaturation": 1e3, "residence_time_s": 1e8,
                "flow_m3_per_s": 1e3, "size_m": 0.1, "population_density_per_m4": 1e40}


def is_parquet(path) -> bool:
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


def _describe(errors: SchemaErrors, file_line: np.ndarray | None) -> str:
    """One line per failing column and check: where (CSV: file lines from ``file_line``;
    Parquet, ``file_line`` None: 0-based rows) and a few offending values."""
    fc = errors.failure_cases
    parts = []
    for (column, check), grp in fc.groupby(["column", "check"], sort=False, dropna=False):
        idx = grp["index"].dropna()
        lines = sorted({int(i) if file_line is None else int(file_line[int(i)]) for i in idx})
        shown = ", ".join(map(str, lines[:MAX_LISTED])) + (" ..." if len(lines) > MAX_LISTED else "")
        values = ", ".join(repr(v) for v in grp["failure_case"].head(3))
        label = "0-based row(s)" if file_line is None else "line(s)"
        where = f" on {label} {shown}" if lines else ""
        parts.append(f"column '{column}' fails '{check}'{where} (e.g. {values}; "
                     f"{len(grp)} value(s))")
    return "; ".join(parts)


def _csv_lines(path: Path, n_rows: int) -> np.ndarray:
    """The 1-based file line of each data row. pandas skips comment and blank lines, so the
    plain ``row + 2`` holds only when there are none; otherwise the lines are counted."""
    data = path.read_bytes()
    plain = np.arange(n_rows) + 2
    if b"#" not in data and b"\n\n" not in data and b"\n\r\n" not in data and data[:1].strip():
        return plain
    content = [i + 1 for i, ln in enumerate(data.splitlines())
               if ln.strip() and not ln.lstrip().startswith(b"#")]
    # header + one line per row; otherwise (quoted multi-line cells) fall back to row + 2
    return np.asarray(content[1:]) if len(content) == n_rows + 1 else plain


def _read_csv(path: Path):
    try:
        # comment lines are those that start with "#" (pandas' `comment` would also cut a row at a
        # "#" inside it, e.g. a spreadsheet's "#N/A", and silently drop the rest of that row);
        # missing values: see MISSING (pandas' other default NA spellings stay text, refused below)
        data = b"\n".join(ln for ln in path.read_bytes().splitlines() if not ln.lstrip().startswith(b"#"))
        raw = pd.read_csv(io.BytesIO(data), dtype=str, skipinitialspace=True, keep_default_na=False,
                          na_values=[""])
    except pd.errors.EmptyDataError:
        raise InputFileError(path, "empty file (no header, no rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise InputFileError(path, f"not a readable CSV table: {exc}") from None
    return raw, _csv_lines(path, len(raw))


def read_parquet_raw(path: Path) -> pd.DataFrame:
    """The Parquet table, every column as pyarrow typed it (numeric and text columns are then
    checked like CSV cells); InputFileError naming the file when it cannot be read."""
    import pyarrow
    try:
        raw = pd.read_parquet(path, engine="pyarrow")
    except (pyarrow.ArrowException, OSError, ValueError) as exc:
        raise InputFileError(path, f"not a readable Parquet file (corrupt, truncated or another "
                                   f"format): {exc}") from None
    return raw.reset_index(drop=True)


def off_grid_rows(table: pd.DataFrame, max_fraction: float = 0.02) -> np.ndarray:
    """Rows whose size is not one of the log's size bins: the bins are the sizes reported at half
    the timestamps or more; a few rows (at most `max_fraction`) elsewhere are a corrupt reading (a
    400 um bin at one timestamp bends that timestamp's fit). More than that: the log has no fixed
    grid, and no row is flagged."""
    ok = table["timestamp_s"].notna() & table["size_m"].notna()
    t, L = table.loc[ok, "timestamp_s"], table.loc[ok, "size_m"]
    per_size = pd.Series(t.values, index=L.values).groupby(level=0).nunique()
    grid = per_size.index[per_size >= max(2, 0.5 * t.nunique())]
    if not len(grid):
        return np.array([], dtype=int)
    off = np.flatnonzero(ok.to_numpy() & ~table["size_m"].isin(grid).to_numpy())
    return off if off.size <= max_fraction * ok.sum() else np.array([], dtype=int)


# peak memory of reading and cleaning a log, per byte of CSV file and per Parquet cell
# (benchmarks/reactor_memory.py measures them; the estimate refuses a log before it can exhaust memory)
CSV_MEMORY_PER_BYTE = 25
PARQUET_MEMORY_PER_CELL = 120


def memory_needed(path: Path) -> int:
    """Estimated peak bytes to read and clean the log at `path`."""
    if is_parquet(path):
        import pyarrow.parquet as pq
        try:
            meta = pq.ParquetFile(path).metadata
        except Exception:              # unreadable: read_parquet_raw says why
            return 0
        return meta.num_rows * meta.num_columns * PARQUET_MEMORY_PER_CELL
    return path.stat().st_size * CSV_MEMORY_PER_BYTE


def check_memory(path: Path) -> None:
    """InputFileError, before reading, when the log would need more memory than is available."""
    import psutil
    need, have = memory_needed(path), psutil.virtual_memory().available
    if need > 0.8 * have:
        raise InputFileError(path, f"too large to process here: reading and cleaning it needs about "
                                   f"{need / 1e9:.1f} GB of memory, {have / 1e9:.1f} GB are available; "
                                   "split the log by time (each part must reach steady state) or run on a "
                                   "machine with more memory")


def read_table(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Read and validate a reactor log (CSV, or Parquet by suffix).

    Returns (table, meta): the table has the canonical columns (SI units; absent optional
    channels are NaN) and ``raw_row`` (0-based data row in the file); meta has the column
    mapping, the unit conversions applied, whether the log is synthetic, the row count, the
    format and (CSV) the file line of every data row."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    if path.stat().st_size == 0:
        raise InputFileError(path, "empty file (no header, no rows)")
    check_memory(path)
    raw, file_line = (read_parquet_raw(path), None) if is_parquet(path) else _read_csv(path)
    raw.columns = [str(c).strip() for c in raw.columns]
    for c in raw.columns:
        if pd.api.types.is_object_dtype(raw[c]) or pd.api.types.is_string_dtype(raw[c]):
            raw[c] = raw[c].mask(raw[c].astype(str).str.strip().isin(MISSING))
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
        col = raw[name]
        if not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col) or
                (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col))):
            raise InputFileError(path, f"column '{name}' holds {col.dtype} values, not numbers "
                                       f"in the unit its name declares")
    missing = [q for q in units.REQUIRED if q not in found]
    if missing:
        desc = ", ".join(f"'{q}' (e.g. '{EXAMPLES[q]}')" for q in missing)
        raise InputFileError(path, f"missing required column(s) {desc}; found columns "
                                   f"{list(raw.columns)}")

    # ---- pandera, stage 1: every used column is numeric text (or empty)
    # (each column is parsed once; pandera hands the check the non-empty cells only)
    parsed = {cu.column: pd.to_numeric(raw[cu.column], errors="coerce") for cu in found.values()}
    text_schema = pa.DataFrameSchema(
        {c: pa.Column(None, pa.Check(lambda s, c=c: parsed[c].reindex(s.index).notna(),
                                     error="numeric value"), nullable=True, coerce=False)
         for c in parsed}, strict=False)
    try:
        text_schema.validate(raw, lazy=True)
    except SchemaErrors as exc:
        raise InputFileError(path, "non-numeric values: " + _describe(exc, file_line)) from None

    # ---- convert to canonical SI columns (pint)
    table = pd.DataFrame({"raw_row": np.arange(len(raw))})
    conversions = []
    for q, cu in found.items():
        vals = parsed[cu.column].to_numpy(dtype=float, na_value=np.nan)
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
    # upper bounds: far beyond any crystallizer, low enough that no fit overflows (PHYSICAL_MAX)
    value_schema = pa.DataFrameSchema({
        c: pa.Column(float, [fin, LOWER[c], pa.Check.le(PHYSICAL_MAX[c], error=f"<= {PHYSICAL_MAX[c]:g} as {c}")]
                     if c in LOWER else [fin, pa.Check.in_range(-PHYSICAL_MAX[c], PHYSICAL_MAX[c],
                                                                error=f"|value| <= {PHYSICAL_MAX[c]:g}")], nullable=True)
        for c in CANONICAL}, strict=False)
    try:
        value_schema.validate(table, lazy=True)
    except SchemaErrors as exc:
        msg = _describe(exc, file_line)
        for cu in found.values():  # name the file's column, not only the canonical one
            msg = msg.replace(f"column '{cu.canonical}'", f"column '{cu.column}'")
        raise InputFileError(path, "invalid values: " + msg) from None

    off = off_grid_rows(table)
    if off.size:
        col = found["size"].column
        where = ", ".join(str(int(i) if file_line is None else int(file_line[i])) for i in off[:MAX_LISTED])
        on_grid = np.setdiff1d(np.arange(len(table)), off)
        bins = pd.unique(parsed[col].to_numpy()[on_grid])
        bins = np.sort(bins[~np.isnan(bins)])
        raise InputFileError(path, f"column '{col}': value(s) {parsed[col].to_numpy()[off[:3]].tolist()} on "
                                   f"{'0-based row(s)' if file_line is None else 'line(s)'} {where}"
                                   f"{' ...' if off.size > MAX_LISTED else ''} are not among the size bins every "
                                   f"other timestamp reports ({bins.size} bins, {bins[0]:g} to {bins[-1]:g})")

    synthetic = False
    if "synthetic" in raw.columns:
        synthetic = bool(raw["synthetic"].astype(str).str.strip().str.lower()
                         .isin(["true", "1", "yes"]).any())
    meta = {"path": str(path), "n_rows_raw": int(len(raw)), "synthetic": synthetic,
            "columns": {q: cu.column for q, cu in found.items()}, "conversions": conversions,
            "ignored_columns": ignored, "format": "parquet" if is_parquet(path) else "csv",
            "file_line": file_line}
    return table, meta
