"""Property test: random corruptions of a valid reactor log (written as CSV or Parquet) never
crash the cleaner without a clear InputFileError, and never change or lose a row without a
record in the cleaning report."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msgnn.errors import InputFileError
from msgnn.kinetics import ClassicalNucleation
from msgnn.reactor.generate import generate_log, msmpr_truth
from msgnn.reactor.settings import LogGenerator
from msgnn.reactor.pipeline import analyse
from synthetic import NO_FAULTS
from test_reactor import _assert_no_silent_changes, raw_canonical

SI_COLUMNS = {"timestamp_s": "timestamp_s", "temperature_K": "temperature_K",
              "supersaturation": "supersaturation", "residence_time_s": "residence_time_s",
              "flow_L_per_min": "flow_L_per_min", "size_um": "size_um",
              "population_density_per_um_per_mL": "population_density_per_um_per_mL"}
NUMERIC = list(SI_COLUMNS)
REQUIRED = ["timestamp_s", "temperature_K", "residence_time_s", "size_um",
            "population_density_per_um_per_mL"]


def _base_table() -> pd.DataFrame:
    run = {"velocity_m_per_s": 10.0, "latent_heat_eV_per_atom": 0.11, "atomic_volume_m3": 1.66e-29}
    gen = LogGenerator.defaults(duration_s=12 * 1800, sample_interval_s=450, faults=NO_FAULTS, size_bins=8)
    truth = msmpr_truth(run, temperature_K=870, melting_point_K=926, generator=gen,
                        nucleation=ClassicalNucleation.defaults())
    tab, _ = generate_log(truth, gen, seed=1)
    path = Path(tempfile.mkdtemp(prefix="msgnn_prop_")) / "base.csv"
    tab.to_csv(path, index=False, float_format="%.7g")
    return pd.read_csv(path, dtype=str)


BASE = _base_table()
N = len(BASE)

_cell = lambda kind, arg=st.none(): st.tuples(st.just(kind), st.integers(0, N - 1),
                                            st.sampled_from(NUMERIC), arg)
_row = lambda kind, arg=st.none(): st.tuples(st.just(kind), st.integers(0, N - 1), st.none(), arg)
benign = st.one_of(_cell("empty"), _cell("negative"), _cell("scale", st.floats(1e-3, 1e3)),
                   _row("duplicate"), _row("swap", st.integers(0, N - 1)))
malformed = st.one_of(_cell("text", st.sampled_from(["abc", "1.2.3", "--", "12 K"])),
                      _cell("inf"), _row("truncate"),
                      st.tuples(st.just("drop_column"), st.none(), st.sampled_from(NUMERIC),
                                st.none()))
# mostly corruptions a cleaner must absorb, sometimes ones it must refuse
corruption = st.one_of(benign, benign, benign, malformed)


def apply(df: pd.DataFrame, ops) -> pd.DataFrame:
    """The corrupted copy of df."""
    df = df.copy()
    for kind, row, col, arg in ops:
        if col is not None and col not in df.columns:
            continue
        if row is not None and row >= len(df):
            continue
        if kind == "text":
            df.iloc[row, df.columns.get_loc(col)] = arg
        elif kind == "empty":
            df.iloc[row, df.columns.get_loc(col)] = np.nan
        elif kind in ("negative", "scale", "inf"):
            v = pd.to_numeric(df.iloc[row][col], errors="coerce")
            if pd.isna(v):
                continue
            new = {"negative": -abs(v) - 1.0, "scale": v * (arg or 1.0), "inf": np.inf}[kind]
            df.iloc[row, df.columns.get_loc(col)] = repr(float(new))
        elif kind == "duplicate":
            df = pd.concat([df.iloc[:row + 1], df.iloc[[row]], df.iloc[row + 1:]],
                           ignore_index=True)
        elif kind == "swap":
            j = min(arg, len(df) - 1)
            idx = list(range(len(df)))
            idx[row], idx[j] = idx[j], idx[row]
            df = df.iloc[idx].reset_index(drop=True)
        elif kind == "drop_column":
            df = df.drop(columns=[col])
        elif kind == "truncate":
            df = df.iloc[:row]
    return df


def must_be_refused(df: pd.DataFrame) -> bool:
    """Whether the documented schema makes this table malformed (whatever else is wrong)."""
    if len(df) == 0 or any(c not in df.columns for c in REQUIRED):
        return True
    for c in NUMERIC:
        if c not in df.columns:
            continue
        v = pd.to_numeric(df[c], errors="coerce")
        if (v.isna() & df[c].notna()).any() or np.isinf(v).any():
            return True
        if c in ("size_um", "population_density_per_um_per_mL") and (v < 0).any():
            return True
    return False


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(corruption, min_size=1, max_size=6), st.sampled_from(["csv", "parquet"]))
def test_cleaner_fails_clearly_or_records_every_change(ops, fmt):
    bad = apply(BASE, ops)
    must_fail = must_be_refused(bad)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"corrupted.{fmt}"
        if fmt == "csv":
            bad.to_csv(path, index=False)
        else:  # every column as text, as a logger that writes strings would
            bad.astype(object).to_parquet(path, index=False)
        try:
            clean, report, summary, fit, meta = analyse(path)
        except InputFileError as exc:
            assert str(path) in str(exc) and exc.problem
            return
        assert not must_fail, f"corruption {ops} should have been refused"
        raw = pd.read_csv(path) if fmt == "csv" else pd.read_parquet(path)
        _assert_no_silent_changes(raw_canonical(raw), clean, report)
        assert fit["growth_rate_m_per_s"] > 0 and fit["nucleation_rate_per_m3_s"] > 0
        assert clean["timestamp_s"].is_monotonic_increasing
        assert not clean.duplicated(["timestamp_s", "size_m"]).any()
