"""Clean a validated reactor log without touching the raw file; record every change.

Steps, in order (each dropped, changed, moved or excluded row gets a line in the report with
its raw row, the column, the old and new value and the reason):

1. rows without a timestamp or size are dropped;
2. exact duplicate rows, then rows repeating a (timestamp, size) key with other values, are
   dropped (the first occurrence in the file is kept); rows logged after a later timestamp are
   recorded as moved, then the table is sorted by time and size;
3. process channels (temperature, supersaturation, residence time, flow) are one reading per
   timestamp: rows disagreeing with the timestamp's median reading are set to it, empty cells
   are filled from the same timestamp; a stretch of temperature logged in °C under a kelvin
   header is detected (reading + 273.15 matches the run's level) and converted; spikes are
   replaced by the local median (Hampel filter, median ± k x normal-scaled MAD over a 7-sample window);
   gaps of at most ``max_fill`` samples are interpolated in time;
4. population-density rows with no value are dropped; spikes in ln n along time, per size bin,
   are dropped (Hampel; the two samples after a zero density, where the growth front
   arrives, are not tested); zero densities are kept but cannot enter the log-linear fit;
5. logger outages (time step > 1.5 x the median step) are flagged;
6. steady state: each timestamp's distribution gives (ln n0, slope) by least squares; the run
   is steady from the point after which the rolling median of their robust z-scores against
   the final third of the run stays below ``steady_k``, moved later while ln n0 or the slope
   still trend by more than ``steady_max_trend`` over the segment; earlier rows are excluded
   from the fit. No steady state (fewer than ``steady_min_timestamps`` timestamps or less than
   ``steady_min_residence_times`` residence times left) raises InputFileError.

plot_cleaning draws the raw against the cleaned channels (cleaning.png) next to the report.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.constants import zero_Celsius
from scipy.special import ndtri
from scipy.stats import median_abs_deviation

from msgnn.errors import InputFileError
from msgnn.reactor.schema import CANONICAL

PROCESS = ["temperature_K", "supersaturation", "residence_time_s", "flow_m3_per_s"]
# MAD -> normal sigma, the factor scipy.stats.median_abs_deviation(scale="normal") uses. The Hampel
# filter computes its NaN-aware MADs with np.nanmedian instead: nan_policy="omit" there loops over
# the slices in Python (35x slower on a 2000 x 7 x 50 window stack with 1 % NaN)
NORMAL_MAD = 1 / ndtri(0.75)
REPORT_COLUMNS = ["raw_row", "line", "timestamp_s", "size_m", "column", "action", "reason",
                  "old_value", "new_value"]


@dataclass
class CleanOptions:
    hampel_half_window: int = 3
    hampel_k: float = 4.0            # population density (ln n), per size bin
    hampel_k_process: float = 5.0    # process channels
    max_fill: int = 3
    gap_factor: float = 1.5
    steady_k: float = 4.0
    steady_min_timestamps: int = 8
    steady_min_residence_times: float = 1.0
    steady_max_trend: float = 0.05
    unit_switch_tolerance_K: float = 10.0


@dataclass
class Recorder:
    """Collects the report lines. ``file_line`` maps raw_row to the CSV file line (None for a
    Parquet log: line -1)."""
    file_line: np.ndarray | None = None
    parts: list = field(default_factory=list)

    def add(self, rows: pd.DataFrame, column: str, action: str, reason, old=None, new=None):
        if len(rows) == 0:
            return
        raw_row = rows["raw_row"].to_numpy()
        part = pd.DataFrame({
            "raw_row": raw_row,
            "line": -1 if self.file_line is None else self.file_line[raw_row],
            "timestamp_s": rows["timestamp_s"].to_numpy(), "size_m": rows["size_m"].to_numpy(),
            "column": column, "action": action, "reason": reason,
            "old_value": rows[column].to_numpy() if old is None and column in rows else old,
            "new_value": new if new is not None else np.nan})
        self.parts.append(part)

    def note(self, column: str, action: str, reason: str):
        self.parts.append(pd.DataFrame([{"raw_row": -1, "line": -1, "timestamp_s": np.nan,
                                         "size_m": np.nan, "column": column, "action": action,
                                         "reason": reason, "old_value": np.nan,
                                         "new_value": np.nan}]))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=REPORT_COLUMNS)
        parts = [p.astype({"old_value": float, "new_value": float}) for p in self.parts]
        return pd.concat(parts, ignore_index=True)[REPORT_COLUMNS]


def hampel(x: np.ndarray, half: int = 3, k: float = 4.0, min_valid: int = 4):
    """Hampel filter along axis 0 (x may be 2-D: time x channels; NaN = missing).

    Window i is the 2·half+1 samples centred on i, shifted inwards at the ends so it is always
    full. Returns (outlier mask, window medians). The scale is max(window MAD, global MAD of
    the residuals) x NORMAL_MAD, so a window that happens to be quiet does not flag normal noise."""
    x = np.asarray(x, dtype=float)
    squeeze = x.ndim == 1
    if squeeze:
        x = x[:, None]
    n = x.shape[0]
    w = 2 * half + 1
    if n < w:
        out = np.zeros_like(x, bool), np.full_like(x, np.nan)
        return (out[0][:, 0], out[1][:, 0]) if squeeze else out
    start = np.clip(np.arange(n) - half, 0, n - w)
    X = x[start[:, None] + np.arange(w)]                      # (n, w, c)
    valid = np.sum(np.isfinite(X), axis=1)
    with np.errstate(all="ignore"), _quiet():
        med = np.nanmedian(X, axis=1)
        mad = NORMAL_MAD * np.nanmedian(np.abs(X - med[:, None, :]), axis=1)
        resid = np.abs(x - med)
        glob = NORMAL_MAD * np.nanmedian(resid, axis=0)
    glob = np.where(np.isfinite(glob), glob, 0.0)
    scale = np.fmax(mad, glob[None, :])
    scale = np.fmax(scale, 1e-12 * np.abs(np.nan_to_num(med)))
    out = (resid > k * scale) & (valid >= min_valid) & np.isfinite(x)
    return (out[:, 0], med[:, 0]) if squeeze else (out, med)


class _quiet:
    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def per_timestamp_fits(ts: np.ndarray, L: np.ndarray, y: np.ndarray):
    """Least-squares (intercept, slope) of y = ln n against L for each timestamp (>= 3 points)."""
    df = pd.DataFrame({"t": ts, "L": L, "y": y, "LL": L * L, "Ly": L * y})
    g = df.groupby("t", sort=True)
    s = g.agg(n=("L", "size"), sL=("L", "sum"), sy=("y", "sum"), sLL=("LL", "sum"),
              sLy=("Ly", "sum"))
    den = s.n * s.sLL - s.sL ** 2
    with np.errstate(all="ignore"):
        slope = (s.n * s.sLy - s.sL * s.sy) / den
        icpt = (s.sy - slope * s.sL) / s.n
    ok = (s.n >= 3) & (den > 0)
    return s.index.to_numpy()[ok], icpt.to_numpy()[ok], slope.to_numpy()[ok]


def detect_steady_state(t: np.ndarray, a: np.ndarray, b: np.ndarray, tau: float,
                        opts: CleanOptions, path) -> tuple[float, dict]:
    """First timestamp of steady state from per-timestamp (ln n0, slope) series; see module doc."""
    n = len(t)
    if n < opts.steady_min_timestamps:
        raise InputFileError(path, f"no steady state: only {n} timestamps with a size "
                                   "distribution of >= 3 positive bins")
    ref_idx = slice(n - max(5, n // 3), n)
    with _quiet():
        ra, rb = np.median(a[ref_idx]), np.median(b[ref_idx])
        sa = max(median_abs_deviation(a[ref_idx], scale="normal"), 1e-3)
        sb = max(median_abs_deviation(b[ref_idx], scale="normal"), 1e-3 * abs(rb))
    z = np.maximum(np.abs(a - ra) / sa, np.abs(b - rb) / sb)
    zs = pd.Series(z).rolling(5, center=True, min_periods=1).median().to_numpy()
    bad = np.flatnonzero(zs > opts.steady_k)
    first = int(bad[-1]) + 1 if len(bad) else 0
    # a remaining trend means the start-up is not over: move the start later until the final
    # segment has none, or is too short to count as steady
    while True:
        nseg = n - first
        duration = t[-1] - t[first] if nseg > 0 else 0.0
        info = {"steady_state_start_s": float(t[first]) if nseg > 0 else None,
                "steady_state_end_s": float(t[-1]), "n_timestamps_steady": nseg}
        if nseg < opts.steady_min_timestamps or duration < opts.steady_min_residence_times * tau:
            raise InputFileError(path, f"no steady state: the size distribution settles only "
                                       f"{duration:.0f} s ({nseg} timestamps) before the end of "
                                       f"the log; need >= {opts.steady_min_residence_times:g} "
                                       f"residence time(s) ({tau:.0f} s) and >= "
                                       f"{opts.steady_min_timestamps} timestamps without a trend "
                                       f"over {100 * opts.steady_max_trend:.0f} %")
        seg = slice(first, n)
        tt = t[seg] - t[seg].mean()
        da = np.polyfit(tt, a[seg], 1)[0] * duration
        db = np.polyfit(tt, b[seg], 1)[0] * duration / abs(rb)
        info.update({"trend_ln_n0": float(da), "trend_slope_relative": float(db)})
        if abs(da) <= opts.steady_max_trend and abs(db) <= opts.steady_max_trend:
            break
        first += max(1, nseg // 10)
    return float(t[first]), info


def clean_table(table: pd.DataFrame, meta: dict, *, path, options: CleanOptions | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(clean table, cleaning report, summary) from read_table's output. Raises InputFileError
    when the log has no steady state or too little usable data."""
    opts = options or CleanOptions()
    lines = meta.get("file_line", np.arange(len(table)) + 2)
    rec = Recorder(None if lines is None else np.asarray(lines))
    for c in meta.get("conversions", []):
        rec.note(c["to"], "converted", f"unit of column '{c['column']}' ({c['unit']}) converted "
                                       f"to SI column '{c['to']}'")
    df = _keyed_rows_in_order(table.copy(), rec, path)
    tgrid = np.sort(df["timestamp_s"].unique())
    for c in PROCESS:
        if not df[c].isna().all():
            df[c] = _clean_process_channel(df, c, tgrid, rec, opts)
    df = _clean_population_density(df, tgrid, rec, opts, path)
    gaps = _flag_logger_outages(df, rec, opts)
    df, per_timestamp, steady_info = _mark_steady_state(df, rec, opts, path)

    report = rec.frame()
    counts = (report[report["raw_row"] >= 0].groupby(["action", "reason"]).size())
    summary = {
        "n_rows_raw": int(meta.get("n_rows_raw", len(table))),
        "n_rows_clean": int(len(df)),
        "n_rows_fit": int(df["used_in_fit"].sum()),
        "gaps_s": gaps,
        "per_timestamp": per_timestamp,
        "cleaning_counts": {f"{a}:{r.split(' (')[0]}": int(v) for (a, r), v in counts.items()},
        **steady_info,
    }
    return df[["raw_row", *CANONICAL, "steady_state", "used_in_fit"]], report, summary


def _keyed_rows_in_order(df: pd.DataFrame, rec: Recorder, path) -> pd.DataFrame:
    """Step 1-2: drop rows without a timestamp or size and duplicated rows, sort by time."""
    for col, reason in [("timestamp_s", "missing_timestamp"), ("size_m", "missing_size")]:
        m = df[col].isna()
        rec.add(df[m], col, "dropped", reason)
        df = df[~m]
    dup = df.duplicated(subset=CANONICAL, keep="first")
    rec.add(df[dup], "timestamp_s", "dropped", "duplicate_row")
    df = df[~dup]
    dup = df.duplicated(subset=["timestamp_s", "size_m"], keep="first")
    rec.add(df[dup], "timestamp_s", "dropped", "duplicate_timestamp_and_size_conflicting_values")
    df = df[~dup]
    ts = df["timestamp_s"].to_numpy()
    ooo = ts < np.maximum.accumulate(ts) if len(ts) else np.zeros(0, bool)
    rec.add(df[ooo], "timestamp_s", "moved", "out_of_order_timestamp")
    df = df.sort_values(["timestamp_s", "size_m"], kind="stable").reset_index(drop=True)
    if df.empty:
        raise InputFileError(path, "no rows with both a timestamp and a size")
    return df


def _clean_process_channel(df: pd.DataFrame, c: str, tgrid: np.ndarray, rec: Recorder,
                           opts: CleanOptions) -> np.ndarray:
    """Step 3: one reading of process channel `c` per timestamp (the median of its rows), a
    temperature logged in degC restored, Hampel outliers replaced, short gaps interpolated.
    Returns the cleaned column, row by row."""
    pos = np.searchsorted(tgrid, df["timestamp_s"].to_numpy())
    block = df.groupby("timestamp_s")[c].median().reindex(tgrid).to_numpy()
    per_row = block[pos]
    old = df[c].to_numpy()
    differs = np.isfinite(old) & ~np.isclose(old, per_row, rtol=1e-9, atol=0.0)
    filled = ~np.isfinite(old) & np.isfinite(per_row)
    rec.add(df[differs], c, "changed", "inconsistent_within_timestamp", new=per_row[differs])
    rec.add(df[filled], c, "changed", "filled_from_same_timestamp", new=per_row[filled])
    new = block.copy()
    reasons = np.full(len(new), "", dtype=object)
    if c == "temperature_K":
        finite = np.isfinite(new)
        if finite.sum() >= 3:
            med = np.median(new[finite])
            near = finite & (np.abs(new - med) < 50)
            sig = median_abs_deviation(new[near], center=lambda v, axis: med, scale="normal") if near.any() else 0.0
            tol = max(opts.unit_switch_tolerance_K, 5 * sig)
            sw = finite & (np.abs(new + zero_Celsius - med) < tol) & (np.abs(new - med) > 100)
            new[sw] += zero_Celsius
            reasons[sw] = "temperature_logged_in_degC"
    out, med_w = hampel(new, opts.hampel_half_window, opts.hampel_k_process)
    out &= reasons == ""
    new[out] = med_w[out]
    reasons[out] = "hampel_outlier_replaced_by_local_median"
    # short gaps: interpolate in time
    miss = ~np.isfinite(new)
    if miss.any() and (~miss).sum() >= 2:
        run_id = np.cumsum(~miss)
        run_len = pd.Series(miss).groupby(run_id).transform("sum").to_numpy()
        inner = miss & (np.arange(len(new)) > np.argmax(~miss)) & \
            (np.arange(len(new)) < len(new) - 1 - np.argmax(~miss[::-1]))
        fill = inner & (run_len <= opts.max_fill)
        new[fill] = np.interp(tgrid[fill], tgrid[~miss], new[~miss])
        reasons[fill] = "short_gap_interpolated"
    changed_rows = reasons[pos] != ""
    if changed_rows.any():
        rec.add(df[changed_rows], c, "changed", reasons[pos][changed_rows],
                old=per_row[changed_rows], new=new[pos][changed_rows])
    return new[pos]


def _clean_population_density(df: pd.DataFrame, tgrid: np.ndarray, rec: Recorder, opts: CleanOptions,
                              path) -> pd.DataFrame:
    """Step 4: drop missing densities and Hampel outliers of ln n over time, bin by bin (not the
    steep rise of a bin's first samples after zero density: the growth front)."""
    m = df["population_density_per_m4"].isna()
    rec.add(df[m], "population_density_per_m4", "dropped", "missing_population_density")
    df = df[~m].reset_index(drop=True)
    if df.empty:
        raise InputFileError(path, "no population-density values")
    sizes = np.sort(df["size_m"].unique())
    ti = np.searchsorted(tgrid, df["timestamp_s"].to_numpy())
    si = np.searchsorted(sizes, df["size_m"].to_numpy())
    Y = np.full((len(tgrid), len(sizes)), np.nan)
    nval = df["population_density_per_m4"].to_numpy()
    with np.errstate(divide="ignore"):
        Y[ti, si] = np.where(nval > 0, np.log(np.where(nval > 0, nval, 1.0)), np.nan)
    out, _ = hampel(Y, opts.hampel_half_window, opts.hampel_k)
    Z = np.zeros_like(Y, bool)
    Z[ti, si] = nval == 0
    front = np.zeros_like(Z)
    front[1:] |= Z[:-1]
    front[2:] |= Z[:-2]
    out &= ~front
    spike = out[ti, si]
    rec.add(df[spike], "population_density_per_m4", "dropped", "hampel_outlier_ln_n")
    return df[~spike].reset_index(drop=True)


def _flag_logger_outages(df: pd.DataFrame, rec: Recorder, opts: CleanOptions) -> list:
    """Step 5: flag time steps longer than gap_factor x the usual one; returns [[before, after], ...] in s."""
    tleft = np.sort(df["timestamp_s"].unique())
    gaps = []
    if len(tleft) > 2:
        dt = np.diff(tleft)
        step = float(np.median(dt))
        for i in np.flatnonzero(dt > opts.gap_factor * step):
            first_rows = df[df["timestamp_s"] == tleft[i + 1]].head(1)
            rec.add(first_rows, "timestamp_s", "flagged",
                    f"time_gap_before ({dt[i]:.0f} s, usual step {step:.0f} s)")
            gaps.append([float(tleft[i]), float(tleft[i + 1])])
    return gaps


def _mark_steady_state(df: pd.DataFrame, rec: Recorder, opts: CleanOptions, path):
    """Step 6: the steady state from the per-timestamp fits of ln n(L); marks the rows used in the
    kinetics fit. Returns (table, per-timestamp fits, steady-state summary)."""
    res = df.groupby("timestamp_s")["residence_time_s"].first().to_numpy()
    res = res[np.isfinite(res)]
    if len(res) == 0:
        raise InputFileError(path, "no residence-time values")
    pos_n = df["population_density_per_m4"].to_numpy() > 0
    t_fit, a_t, b_t = per_timestamp_fits(df["timestamp_s"].to_numpy()[pos_n],
                                         df["size_m"].to_numpy()[pos_n],
                                         np.log(df["population_density_per_m4"].to_numpy()[pos_n]))
    t_start, steady_info = detect_steady_state(t_fit, a_t, b_t, float(np.median(res)), opts, path)
    df["steady_state"] = df["timestamp_s"] >= t_start
    df["used_in_fit"] = df["steady_state"] & pos_n
    rec.add(df[~df["steady_state"]], "timestamp_s", "excluded", "transient_before_steady_state")
    rec.add(df[df["steady_state"] & ~pos_n], "population_density_per_m4", "excluded",
            "zero_population_density_not_in_log_fit")
    return df, {"timestamp_s": t_fit, "ln_n0": a_t, "slope_per_m": b_t}, steady_info


def plot_cleaning(raw: pd.DataFrame, clean: pd.DataFrame, report: pd.DataFrame, path, *,
                  title: str, synthetic: bool = False) -> None:
    """Raw vs cleaned channels against time: temperature, residence time, supersaturation and
    ln n in three size bins (small, dominant, large); rows the cleaner dropped are marked, the
    transient excluded from the fit is shaded. ``raw`` is read_table's canonical table."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from msgnn.io import save_figure

    h = 1 / 3600.0
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharex=True)
    clean_t = clean.groupby("timestamp_s", sort=True).first()
    start = clean.loc[clean["steady_state"], "timestamp_s"].min()
    for ax, col, label in [(axes[0, 0], "temperature_K", "temperature (K)"),
                           (axes[0, 1], "residence_time_s", "residence time (s)"),
                           (axes[1, 0], "supersaturation", "supersaturation")]:
        ax.plot(raw["timestamp_s"] * h, raw[col], ".", ms=2, color="C3", alpha=0.5, label="raw")
        ax.plot(clean_t.index * h, clean_t[col], "-", lw=0.8, color="C0", label="cleaned")
        lo, hi = np.nanpercentile(clean_t[col], [0.5, 99.5]) if clean_t[col].notna().any() \
            else (0.0, 1.0)
        pad = 0.5 * (hi - lo) + 1e-12 * abs(hi)
        ax.set_ylim(lo - pad, hi + pad)  # spikes and the degC stretch run off the axis
        ax.set_ylabel(label)
    ax = axes[1, 1]
    dropped = set(report.loc[report["action"] == "dropped", "raw_row"])
    sizes = np.sort(clean["size_m"].unique())
    for k, i in enumerate([len(sizes) // 10, len(sizes) // 3, (2 * len(sizes)) // 3]):
        L = sizes[i]
        r = raw[np.isclose(raw["size_m"], L) & (raw["population_density_per_m4"] > 0)]
        c = clean[np.isclose(clean["size_m"], L) & (clean["population_density_per_m4"] > 0)]
        gone = r["raw_row"].isin(dropped)
        ax.plot(r.loc[gone, "timestamp_s"] * h, np.log(r.loc[gone, "population_density_per_m4"]),
                "x", ms=4, color=f"C{k}", label="dropped" if k == 0 else None)
        ax.plot(c["timestamp_s"] * h, np.log(c["population_density_per_m4"]), "-", lw=0.8,
                color=f"C{k}", label=f"L = {L * 1e6:.3g} µm")
    steady = clean[clean["used_in_fit"]]["population_density_per_m4"]
    if len(steady):
        lo, hi = np.log(steady.min()), np.log(steady.max())
        ax.set_ylim(lo - 0.3 * (hi - lo), hi + 0.15 * (hi - lo))
    ax.set_ylabel("ln n (n in m⁻⁴)")
    ax.legend(fontsize=7)
    for ax in axes.flat:
        if np.isfinite(start):
            ax.axvspan(clean["timestamp_s"].min() * h, start * h, color="0.9", zorder=0)
    axes[0, 0].legend(fontsize=7, title="shaded: transient, not fitted", title_fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel("time (h)")
    n_changed = int((report["raw_row"] >= 0).sum())
    fig.suptitle(("SYNTHETIC reactor log — " if synthetic else "") + title +
                 f": raw vs cleaned ({n_changed} report lines)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
