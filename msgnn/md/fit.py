"""Analysis of MD trajectories: interface positions, interface velocity, kinetic coefficient, Tm.

Pure numpy/scipy, no LAMMPS: unit-tested on synthetic data with known answers.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats
from statsmodels.regression.linear_model import WLS


def slab_centre(z_A: np.ndarray, solid: np.ndarray, Lz_A: float, zlo_A: float) -> float:
    """The periodic centre (Å, wrapped into the box) of the solid atoms of a slab: their circular
    mean along z, refined by the median of the minimum-image offsets from it (insensitive to stray
    solid-like atoms in the liquid). With no solid atom: the box centre."""
    z = np.asarray(z_A, float)[np.asarray(solid, bool)]
    if z.size == 0:
        return zlo_A + 0.5 * Lz_A
    theta = 2 * np.pi * (z - zlo_A) / Lz_A
    c = zlo_A + (math.atan2(np.sin(theta).mean(), np.cos(theta).mean()) % (2 * np.pi)) * Lz_A / (2 * np.pi)
    dz = (z - c + 0.5 * Lz_A) % Lz_A - 0.5 * Lz_A        # unwrap around the circular mean
    return zlo_A + (c + float(np.median(dz)) - zlo_A) % Lz_A


def solid_per_side(z_A: np.ndarray, solid: np.ndarray, centre_A: float, Lz_A: float) -> tuple[int, int]:
    """(solid atoms below, solid atoms above) the plane z = `centre_A`, by periodic minimum image:
    an atom is "lower" when its minimum-image offset from the centre is negative. For a slab
    centred near `centre_A` these are the atoms behind the lower and the upper interface."""
    z = np.asarray(z_A, float)[np.asarray(solid, bool)]
    dz = (z - centre_A + 0.5 * Lz_A) % Lz_A - 0.5 * Lz_A
    lower = int(np.count_nonzero(dz < 0))
    return lower, int(z.size - lower)


def interface_positions(z_A: np.ndarray, solid: np.ndarray, Lz_A: float, zlo_A: float,
                        n_solid_per_A3: float, area_A2: float) -> np.ndarray:
    """The two interface z positions (Å, wrapped into the box) of a periodic solid slab.

    The slab centre is the (robust) periodic centre of the solid atoms (`slab_centre`); its
    thickness is N_solid / (A n_solid), so the interfaces lie at centre ∓ thickness/2.
    """
    n = int(np.count_nonzero(solid))
    c = slab_centre(z_A, solid, Lz_A, zlo_A)
    if n == 0:
        return np.array([c, c])
    h = min(n / (area_A2 * n_solid_per_A3), Lz_A)
    lo = zlo_A + (c - 0.5 * h - zlo_A) % Lz_A
    hi = zlo_A + (c + 0.5 * h - zlo_A) % Lz_A
    return np.array([lo, hi])


def fit_interface_velocity(time_ps, n_solid, area_A2: float, n_solid_per_A3: float, *,
                           transient_ps: float = 0.0, n_total: int | None = None,
                           fraction_window=(0.15, 0.85), box_lz_A: float | None = None,
                           min_phase_thickness_A: float = 0.0, n_interfaces: int = 2) -> dict:
    """Interface velocity from the solid count N_s(t): v = dN_s/dt / (n_interfaces A n_solid).

    `n_interfaces` = 2 for the whole slab (both interfaces move N_s), 1 for the solid behind one
    interface (the count on one side of the slab centre, see `solid_per_side`).

    Points before `transient_ps` are dropped, and so is everything after the solid fraction first
    leaves `fraction_window` (the slab has filled the box or melted away), narrowed with
    `box_lz_A` so that each phase stays at least `min_phase_thickness_A` thick (a thin liquid or
    solid film between two interfaces collapses all at once). The standard error
    of the slope is inflated for the lag-1 autocorrelation of the residuals. Returns m/s.
    """
    t = np.asarray(time_ps, float)
    ns = np.asarray(n_solid, float)
    if t.shape != ns.shape or t.ndim != 1:
        raise ValueError("time and solid count must be 1-D arrays of equal length")
    keep = t >= t[0] + transient_ps
    if n_total:
        frac = ns / n_total
        if box_lz_A:
            m = min(min_phase_thickness_A / box_lz_A, 0.45)
            fraction_window = (max(fraction_window[0], m), min(fraction_window[1], 1 - m))
        outside = np.nonzero(keep & ((frac < fraction_window[0]) | (frac > fraction_window[1])))[0]
        if outside.size:
            keep &= np.arange(t.size) <= outside[0]   # include the point where it leaves the window
    if keep.sum() < 3:                      # too few points: use everything after the first sample
        keep = np.arange(t.size) >= min(1, t.size - 3)
    tt, yy = t[keep], ns[keep]
    res = stats.linregress(tt, yy)
    resid = yy - (res.intercept + res.slope * tt)
    inflate = 1.0
    if resid.size > 4 and np.std(resid) > 0:
        r1 = float(np.corrcoef(resid[:-1], resid[1:])[0, 1])
        if np.isfinite(r1) and r1 > 0:
            inflate = math.sqrt((1 + r1) / (1 - min(r1, 0.9)))
    if n_interfaces not in (1, 2):
        raise ValueError(f"n_interfaces must be 1 or 2, not {n_interfaces!r}")
    scale = 1.0 / (n_interfaces * area_A2 * n_solid_per_A3) * 1e-10 / 1e-12   # (atoms/ps) -> m/s
    return {"velocity_m_per_s": float(res.slope * scale),
            "stderr_m_per_s": float(res.stderr * inflate * scale),
            "fit_start_ps": float(tt[0]), "fit_end_ps": float(tt[-1]), "fit_points": int(tt.size),
            "autocorrelation_inflation": inflate}


def kinetic_fit(temperatures_K, velocities, stderrs, reference_melting_point_K: float) -> dict:
    """Weighted linear fit v = b + mu * dT with dT = Tm_ref - T.

    Returns mu (m/s/K) with a 95 % CI (t distribution, n-2 dof), and Tm where the fit crosses
    v = 0 with its 1-sigma uncertainty from the fit covariance. The covariance is the larger of
    the one implied by the stated stderrs and the one scaled by the residual scatter.
    """
    T = np.asarray(temperatures_K, float)
    v = np.asarray(velocities, float)
    s = np.asarray(stderrs, float)
    if T.size < 2:
        raise ValueError("need at least two temperatures for a kinetic fit")
    s = np.where(np.isfinite(s) & (s > 0), s, np.nanmax(np.r_[s[np.isfinite(s)], 1e-3]))
    s = np.maximum(s, 1e-3 * max(np.abs(v).max(), 1e-6))
    dT = reference_melting_point_K - T
    wls = WLS(v, np.column_stack([np.ones_like(dT), dT]), weights=1.0 / s ** 2).fit()
    dof = T.size - 2
    # (X'WX)^-1 from the stated stderrs, scaled up (never down) by the reduced chi-square
    cov = wls.normalized_cov_params * (max(1.0, wls.scale) if dof > 0 else 1.0)
    b, mu = float(wls.params[0]), float(wls.params[1])
    se_mu = math.sqrt(cov[1, 1])
    tq = stats.t.ppf(0.975, dof) if dof > 0 else float("nan")
    ci = [mu - tq * se_mu, mu + tq * se_mu] if dof > 0 else [None, None]
    if mu != 0:
        tm = reference_melting_point_K + b / mu
        g = np.array([1 / mu, -b / mu ** 2])
        tm_se = float(math.sqrt(g @ cov @ g))
    else:  # pragma: no cover
        tm, tm_se = float("nan"), float("inf")
    return {"mu_m_per_s_per_K": mu, "ci95": ci, "stderr_m_per_s_per_K": se_mu,
            "intercept_m_per_s": b, "melting_point_K": float(tm), "uncertainty_K": tm_se,
            "dof": dof, "covariance": cov.tolist()}


def interface_diffusivity(time_ps, n_solid, area_A2: float, n_solid_per_A3: float, *, transient_ps: float = 3.0,
                          lags_ps=(0.4, 2.0)) -> float:
    """Diffusivity (Å²/ps) of one interface's mean position h(t) = N_s(t) / (A n_solid) at Tm, where
    nothing drives it and it random-walks: <(h(t + tau) - h(t))^2> = a + 2 D tau, fitted by least
    squares over the lags in `lags_ps` (the intercept `a` absorbs the classifier's short-time label
    noise) after a linear drift is removed (a Tm a few K off moves the interface steadily).
    `n_solid`: the solid atoms behind that interface (`solid_per_side`). On simulated random walks
    of the library's length (22 ps after the transient, samples every 0.2 ps) the estimate is 13 %
    low on average (the detrending takes part of the walk) and scatters by 43 % (one interface).
    NaN when the series after the transient is shorter than 4 x the longest lag."""
    t = np.asarray(time_ps, float)
    keep = t >= t[0] + transient_ps
    t, h = t[keep], np.asarray(n_solid, float)[keep] / (area_A2 * n_solid_per_A3)
    if t.size < 4 or t[-1] - t[0] < 4 * lags_ps[1]:
        return float("nan")              # too short to tell a random walk from noise and drift
    h = h - np.polyval(np.polyfit(t, h, 1), t)
    dt = float(np.median(np.diff(t)))
    lags = np.arange(max(1, round(lags_ps[0] / dt)), min(round(lags_ps[1] / dt), t.size - 2) + 1)
    msd = np.array([np.mean((h[k:] - h[:-k]) ** 2) for k in lags])
    return float(np.polyfit(lags * dt, msd, 1)[0] / 2)


def fluctuation_kinetic_coefficient(diffusivity_A2_per_ps: float, latent_heat_J_per_m3: float, area_A2: float,
                                    melting_point_K: float) -> float:
    """mu (m/s/K) from the random walk of an interface at Tm (the fluctuation-dissipation relation of
    the interface position, cf. Hoyt, Sadigh, Asta & Foiles, Acta Mater. 47, 3181, 1999): a driving
    pressure L dT / Tm moves the interface at mu dT, so its mobility is mu Tm / L and the Einstein
    relation of the mean position of an area A gives D = k_B Tm^2 mu / (L A)."""
    from msgnn.kinetics import K_B
    D = diffusivity_A2_per_ps * 1e-20 / 1e-12                   # m^2/s
    return float(D * latent_heat_J_per_m3 * area_A2 * 1e-20 / (K_B * melting_point_K ** 2))
