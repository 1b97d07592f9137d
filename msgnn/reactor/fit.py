"""MSMPR kinetics from a cleaned steady-state size distribution.

ln n = ln n0 - L/(G tau) is fitted by least squares to every steady-state (L, n > 0) point.
The covariance of (ln n0, slope) is cluster-robust by timestamp (statsmodels OLS,
cov_type="cluster"), so fluctuations shared by one distribution (sampling, dilution) widen
the interval instead of being counted as independent points. Then

    G  = -1/(slope tau)              B0 = n0 G               dominant size = 3 G tau

with tau the median logged residence time over the steady state (its standard error enters
both intervals). 95 % intervals: Student t with (timestamps - 1) degrees of freedom on
ln G and ln B0 (delta method), so they are positive and asymmetric.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from msgnn.errors import InputFileError


def fit_msmpr(clean: pd.DataFrame, *, path="clean table") -> dict:
    used = clean[clean["used_in_fit"]]
    L = used["size_m"].to_numpy(float)
    y = np.log(used["population_density_per_m4"].to_numpy(float))
    groups = used["timestamp_s"].to_numpy()
    n, ng = len(L), len(np.unique(groups))
    if n < 3 or ng < 2 or np.ptp(L) <= 0:
        raise InputFileError(path, f"too few steady-state points to fit ({n} points, "
                                   f"{ng} timestamps, {len(np.unique(L))} sizes)")
    model = sm.OLS(y, sm.add_constant(L))
    ols = model.fit()
    # cluster-robust (by timestamp) covariance, with statsmodels' small-sample factor
    # G/(G-1) (n-1)/(n-2); keep the classical OLS covariance where it is wider for the slope (a
    # robust estimate from few clusters can come out too small)
    robust = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(groups)[0]})
    cov = robust.cov_params()
    if not np.all(np.isfinite(cov)) or cov[1, 1] < ols.cov_params()[1, 1]:
        cov = ols.cov_params()
    a, b = ols.params
    var_a, var_b, cov_ab = cov[0, 0], cov[1, 1], cov[0, 1]
    if not b < 0:
        raise InputFileError(path, f"population density does not decrease with size at steady "
                                   f"state (slope {b:.3g} per m): not an MSMPR distribution")

    steady = clean[clean["steady_state"]].groupby("timestamp_s")["residence_time_s"].first()
    steady = steady[np.isfinite(steady)].to_numpy()
    if len(steady) == 0:
        raise InputFileError(path, "no residence time logged during the steady state")
    tau = float(np.median(steady))
    tau_se = 1.2533 * float(stats.median_abs_deviation(steady, scale="normal")) / math.sqrt(len(steady))
    var_ln_tau = (tau_se / tau) ** 2

    G = -1.0 / (b * tau)
    ln_G_var = var_b / b ** 2 + var_ln_tau
    ln_B0 = a + math.log(G)
    ln_B0_var = var_a + var_b / b ** 2 - 2 * cov_ab / b + var_ln_tau
    tq = float(stats.t.ppf(0.975, ng - 1))
    ci = lambda ln, var: [math.exp(ln - tq * math.sqrt(var)), math.exp(ln + tq * math.sqrt(var))]
    return {
        "growth_rate_m_per_s": G,
        "growth_rate_ci95": ci(math.log(G), ln_G_var),
        "nucleation_rate_per_m3_s": math.exp(ln_B0),
        "nucleation_rate_ci95": ci(ln_B0, ln_B0_var),
        "n0_per_m4": math.exp(a),
        "slope_per_m": b,
        "residence_time_s": tau,
        "residence_time_stderr_s": tau_se,
        "dominant_size_m": 3 * G * tau,
        "n_points_fit": int(n),
        "n_timestamps_fit": int(ng),
        "r2": float(ols.rsquared) if np.ptp(y) > 0 else None,
        "residual_sd_ln": float(math.sqrt(ols.scale)),
    }


def temperature_drift(clean: pd.DataFrame) -> dict:
    """Theil-Sen slope of the steady-state temperature (K/h) with its 95 % interval; flagged
    when the interval excludes zero and the drift over the steady state exceeds 1 K. A drift is
    reported, not corrected: without a reference thermometer it cannot be told from a real one."""
    s = clean[clean["steady_state"]].groupby("timestamp_s")["temperature_K"].first().dropna()
    if len(s) < 5:
        return {"temperature_drift_K_per_h": None, "temperature_drift_flagged": False}
    t_h = s.index.to_numpy(float) / 3600.0
    res = stats.theilslopes(s.to_numpy(float), t_h, alpha=0.95)
    slope, lo, hi = float(res[0]), float(res[2]), float(res[3])
    flagged = bool((lo > 0 or hi < 0) and abs(slope) * np.ptp(t_h) > 1.0)
    return {"temperature_drift_K_per_h": slope, "temperature_drift_ci95": [lo, hi],
            "temperature_drift_flagged": flagged,
            "temperature_mean_steady_K": float(s.mean())}


def plot_fit(clean: pd.DataFrame, fit: dict, summary: dict, path, *, title: str,
             truth: dict | None = None, synthetic: bool = False) -> None:
    """ln n vs L at steady state with the fit, and the per-timestamp slope vs time."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from msgnn.io import save_figure

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    used = clean[clean["used_in_fit"]]
    ax1.plot(used["size_m"] * 1e6, np.log(used["population_density_per_m4"]), ".", ms=2,
             alpha=0.3, color="0.4", label="steady-state data")
    Lg = np.linspace(0, clean["size_m"].max(), 100)
    ax1.plot(Lg * 1e6, math.log(fit["n0_per_m4"]) + fit["slope_per_m"] * Lg, "C0",
             label=f"fit: G = {fit['growth_rate_m_per_s']:.3g} m/s, "
                   f"B0 = {fit['nucleation_rate_per_m3_s']:.3g} /m³/s")
    if truth:
        G, tau = truth["growth_rate_m_per_s"], truth["residence_time_s"]
        ax1.plot(Lg * 1e6, math.log(truth["n0_per_m4"]) - Lg / (G * tau), "C3--", lw=1,
                 label="generator truth")
    ax1.set_xlabel("size L (µm)")
    ax1.set_ylabel("ln n  (n in m⁻⁴)")
    ax1.legend(fontsize=7)
    pt = summary["per_timestamp"]
    tau = fit["residence_time_s"]
    ax2.plot(np.asarray(pt["timestamp_s"]) / tau, -1.0 / (np.asarray(pt["slope_per_m"]) * tau),
             ".", ms=3, color="0.3")
    ax2.axvline(summary["steady_state_start_s"] / tau, color="C2", label="steady state from")
    ax2.axhline(fit["growth_rate_m_per_s"], color="C0", lw=1)
    ax2.set_xlabel("time / residence time")
    ax2.set_ylabel("G per timestamp (m/s)")
    ax2.set_ylim(0, 2.5 * fit["growth_rate_m_per_s"])
    ax2.legend(fontsize=7)
    fig.suptitle(("SYNTHETIC reactor log — " if synthetic else "") + title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
