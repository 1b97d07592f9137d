"""Synthetic reactor logs: a continuous MSMPR crystallizer driven by the MD-measured kinetics.

Steady state of the mixed-suspension mixed-product-removal population balance
(dn/dt + G dn/dL = -n/tau, n(0) = B0/G) is n(L) = n0 exp(-L/(G tau)) with B0 = n0 G.
Here G = MD interface velocity x ``growth_scale`` and B0 is the classical (heterogeneous)
nucleation rate from msgnn.kinetics with the MD latent heat and atomic volume.

Start-up: the reactor is filled with melt at Tm and cooled to the set point with time constant
tau_c (``startup_time_fraction`` x tau): T(t) = T + (Tm - T) exp(-t/tau_c), supersaturation
s(t) = (Tm - T(t))/Tm, and the nucleation rate follows s linearly, B0(t) = B0 s(t)/s. Solving
the population balance along characteristics gives, for t > L/G,

    n(L, t) = n0 (1 - exp(-(t - L/G)/tau_c)) exp(-L/(G tau)),   and 0 for L >= G t,

so the distribution reaches steady state over a few tau, the largest sizes last.

Every channel gets multiplicative log-normal noise at ``noise``; then the faults a real logger
shows are injected (all optional, ``faults`` dict): single-bin spikes, NaN dropouts, a logger
outage (gap), a stretch where the temperature channel is logged in °C, slow temperature sensor
drift, temperature spikes, duplicated blocks and out-of-order blocks. The table is written in
the instrument's units (``size_um``, ``population_density_per_um_per_mL``, ``flow_L_per_min``)
so that reading it exercises the unit conversion.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.constants import zero_Celsius

from msgnn.errors import InputFileError, SimulationError
from msgnn.io import read_json_object
from msgnn.kinetics import ClassicalNucleation, log10_nucleation_rate
from msgnn.reactor.settings import LogGenerator

RAW_COLUMNS = ["timestamp_s", "temperature_K", "supersaturation", "residence_time_s",
               "flow_L_per_min", "size_um", "population_density_per_um_per_mL", "synthetic"]
_RUN_KEYS = ("velocity_m_per_s", "latent_heat_eV_per_atom", "atomic_volume_m3")
M4_PER_UM_ML = 1e12          # 1 /(um mL) = 1e12 /m^4
L_PER_MIN = 1.0 / 60000.0    # 1 L/min in m^3/s


def read_run(path: str | Path) -> dict:
    """The MD run record, checked for the keys and signs the generator needs."""
    run = read_json_object(path)
    for key in _RUN_KEYS:
        if key not in run:
            raise InputFileError(path, f"missing key '{key}'")
        v = run[key]
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise InputFileError(path, f"'{key}' must be a positive number for a growth "
                                       f"condition, got {v!r}")
    return run


def msmpr_truth(run: dict, *, temperature_K: float, melting_point_K: float, generator: LogGenerator,
                nucleation: ClassicalNucleation) -> dict:
    """Steady-state MSMPR kinetics implied by one MD run: G, B0, n0 and the dominant size."""
    G = run["velocity_m_per_s"] * generator.growth_scale
    residence_time_s = generator.residence_time_s
    log10_B0 = log10_nucleation_rate(temperature_K, melting_point_K, run["latent_heat_eV_per_atom"],
                                     run["atomic_volume_m3"], nucleation)
    if not math.isfinite(log10_B0) or log10_B0 - math.log10(G) - 12 < -290:
        raise SimulationError(f"nucleation rate 10^{log10_B0:.1f} /m^3/s at {temperature_K} K is "
                              "too small to produce a measurable crystal size distribution")
    B0 = 10.0 ** log10_B0
    return {"growth_rate_m_per_s": G, "nucleation_rate_per_m3_s": B0,
            "log10_nucleation_rate_per_m3_s": log10_B0, "n0_per_m4": B0 / G,
            "residence_time_s": residence_time_s, "dominant_size_m": 3 * G * residence_time_s,
            "temperature_K": float(temperature_K), "melting_point_K": float(melting_point_K),
            "supersaturation": (melting_point_K - temperature_K) / melting_point_K}


def population_density(L: np.ndarray, t: np.ndarray, *, G: float, tau: float, n0: float,
                       tau_c: float) -> np.ndarray:
    """n(L, t) of the start-up solution (broadcasts L against t)."""
    age = t - L / G
    with np.errstate(over="ignore"):
        ramp = np.where(age > 0, -np.expm1(-np.maximum(age, 0) / tau_c), 0.0)
    return n0 * ramp * np.exp(-L / (G * tau))


def generate_log(truth: dict, settings: LogGenerator, *, seed: int) -> tuple[pd.DataFrame, dict]:
    """A raw reactor log (long table, one row per timestamp and size bin) and what was injected.

    Returns (table, info); info["fault_rows"] maps each fault kind to the row positions in the
    returned table that carry it (for tests and the recovery benchmark). Every random draw comes
    from one generator, in a fixed order: channels, process faults, CSD faults, gap, block order."""
    s, faults = settings, settings.faults
    rng = np.random.default_rng(seed)
    t, size_um, ch = _channels(truth, s, rng)
    nt = len(t)
    flags = _process_faults(ch["temperature_K"], faults, rng)
    tab = pd.DataFrame({
        "timestamp_s": np.repeat(t, s.size_bins),
        **{name: np.repeat(ch[name], s.size_bins)
           for name in ("temperature_K", "supersaturation", "residence_time_s", "flow_L_per_min")},
        "size_um": np.tile(size_um, nt),
        "population_density_per_um_per_mL": ch["population_density_per_um_per_mL"].ravel(),
        "synthetic": True,
    })
    kind = np.full(len(tab), "", dtype=object)
    for name, flag in flags.items():
        kind[np.repeat(flag, s.size_bins)] = name
    _csd_faults(tab, kind, faults, rng)
    tab["_kind"] = kind
    tab["_block"] = np.repeat(np.arange(nt), s.size_bins)
    tab, gap_blocks = _logger_outage(tab, faults, rng, nt)
    tab = _block_order_faults(tab, faults, rng)
    fault_rows = {k: np.flatnonzero(tab["_kind"].to_numpy() == k).tolist()
                  for k in ["spike", "dropout", "temperature_spike", "temperature_dropout",
                            "unit_switch", "duplicate"]}
    # blocks that appear after a later timestamp were logged out of order
    ts = tab["timestamp_s"].to_numpy()
    fault_rows["out_of_order"] = np.flatnonzero(ts < np.maximum.accumulate(ts)).tolist()
    tab = tab.drop(columns=["_kind", "_block"])[RAW_COLUMNS]
    info = {
        "synthetic": True,
        "model": "MSMPR start-up: n(L,t) = n0 (1 - exp(-(t - L/G)/tau_c)) exp(-L/(G tau))",
        "truth": truth, "noise": s.noise, "seed": seed, "faults": faults.to_dict(),
        "duration_s": s.duration_s, "sample_interval_s": s.sample_interval_s, "size_bins": s.size_bins,
        "max_size_factor": s.max_size_factor,
        "startup_time_constant_s": s.startup_time_fraction * truth["residence_time_s"],
        "reactor_volume_m3": s.reactor_volume_m3, "temperature_noise_K": s.temperature_noise_K,
        "gap_timestamps_s": t[gap_blocks].tolist(), "n_rows": len(tab),
        "fault_counts": {k: len(v) for k, v in fault_rows.items()},
        "fault_rows": fault_rows,
    }
    return tab, info


def _channels(truth: dict, s: LogGenerator, rng: np.random.Generator):
    """Sample times, instrument bins (um) and the noisy channels in the instrument's units, with
    the temperature sensor's drift: (t, size_um, {column: values per timestamp (CSD: per bin)})."""
    G, tau, n0 = truth["growth_rate_m_per_s"], truth["residence_time_s"], truth["n0_per_m4"]
    T_set, Tm = truth["temperature_K"], truth["melting_point_K"]
    tau_c = s.startup_time_fraction * tau
    t = np.arange(0.0, s.duration_s + 0.5 * s.sample_interval_s, s.sample_interval_s)
    nt = len(t)
    # instrument bins: centres across 0..max_size_factor x G tau, rounded to 4 significant digits
    width_um = s.max_size_factor * G * tau / s.size_bins * 1e6
    size_um = np.array([float(f"{(k + 0.5) * width_um:.4g}") for k in range(s.size_bins)])
    L = size_um * 1e-6
    n = population_density(L[None, :], t[:, None], G=G, tau=tau, n0=n0, tau_c=tau_c)
    n_obs = n * np.exp(s.noise * rng.standard_normal(n.shape))
    T_true = T_set + (Tm - T_set) * np.exp(-t / tau_c)
    T_obs = T_true + s.temperature_noise_K * rng.standard_normal(nt)
    T_obs += s.faults.drift_K_per_h * t / 3600.0
    s_obs = (Tm - T_true) / Tm * np.exp(s.noise * rng.standard_normal(nt))
    flow = s.reactor_volume_m3 / tau * np.exp(s.noise * rng.standard_normal(nt))
    return t, size_um, {"temperature_K": T_obs, "supersaturation": s_obs,
                        "residence_time_s": s.reactor_volume_m3 / flow, "flow_L_per_min": flow / L_PER_MIN,
                        "population_density_per_um_per_mL": n_obs / M4_PER_UM_ML}


def _pick(rng: np.random.Generator, fraction: float, size: int, lo: int = 0) -> np.ndarray:
    """round(fraction x size) distinct positions in lo..size-1."""
    k = int(round(fraction * size))
    return rng.choice(np.arange(lo, size), size=min(k, size - lo), replace=False) if k else np.array([], dtype=int)


def _process_faults(T_obs: np.ndarray, faults, rng: np.random.Generator) -> dict:
    """Per-timestamp faults of the temperature channel, applied in place: a stretch logged in degC,
    spikes, dropouts. Returns the timestamps each fault hit (flags by fault kind)."""
    nt = len(T_obs)
    unit_switched = np.zeros(nt, bool)
    if faults.unit_switch_fraction > 0:
        k = max(1, int(round(faults.unit_switch_fraction * nt)))
        start = int(rng.integers(nt // 3, max(nt // 3 + 1, nt - k)))
        unit_switched[start:start + k] = True
    T_spiked = np.zeros(nt, bool)
    idx = _pick(rng, faults.temperature_spike_fraction, nt, lo=1)
    T_spiked[idx] = True
    T_obs[idx] += rng.choice([-1, 1], len(idx)) * rng.uniform(5, 30, len(idx))
    T_obs[unit_switched] -= zero_Celsius
    T_nan = np.zeros(nt, bool)
    T_nan[_pick(rng, faults.dropout_fraction, nt)] = True
    T_obs[T_nan] = np.nan
    return {"unit_switch": unit_switched, "temperature_spike": T_spiked, "temperature_dropout": T_nan}


def _csd_faults(tab: pd.DataFrame, kind: np.ndarray, faults, rng: np.random.Generator) -> None:
    """CSD spikes on rows with a positive density, then dropouts on rows without a fault (in place)."""
    positive = np.flatnonzero(tab["population_density_per_um_per_mL"].to_numpy() > 0)
    k_sp = int(round(faults.spike_fraction * len(positive)))
    spikes = rng.choice(positive, size=k_sp, replace=False) if k_sp else np.array([], int)
    factor = rng.uniform(3, 30, len(spikes)) ** rng.choice([-1, 1], len(spikes))
    col = tab.columns.get_loc("population_density_per_um_per_mL")
    tab.iloc[spikes, col] = tab.iloc[spikes, col].to_numpy() * factor
    kind[spikes] = "spike"
    k_dr = int(round(faults.dropout_fraction * len(tab)))
    free = np.flatnonzero(kind == "")
    drops = rng.choice(free, size=min(k_dr, len(free)), replace=False) if k_dr else np.array([], int)
    tab.iloc[drops, col] = np.nan
    kind[drops] = "dropout"


def _logger_outage(tab: pd.DataFrame, faults, rng: np.random.Generator, nt: int):
    """Remove a run of timestamps (not the first or last few): (table, the removed blocks)."""
    gap_blocks = np.array([], int)
    if faults.gap_fraction > 0 and nt > 20:
        k = max(1, int(round(faults.gap_fraction * nt)))
        start = int(rng.integers(nt // 4, nt - k - 5))
        gap_blocks = np.arange(start, start + k)
        tab = tab[~tab["_block"].isin(gap_blocks)]
    return tab, gap_blocks


def _block_order_faults(tab: pd.DataFrame, faults, rng: np.random.Generator) -> pd.DataFrame:
    """Out-of-order swaps of neighbouring timestamp blocks, then duplicated blocks re-sent right
    after the original."""
    blocks = list(dict.fromkeys(tab["_block"]))
    order = blocks.copy()
    swapped = set()
    for i in _pick(rng, faults.out_of_order_fraction, len(order) - 1, lo=1):
        if i in swapped or i + 1 in swapped:
            continue
        order[i], order[i + 1] = order[i + 1], order[i]
        swapped.update({i, i + 1})
    dup = set(int(b) for b in _pick(rng, faults.duplicate_fraction, len(blocks), lo=1))
    groups = dict(tuple(tab.groupby("_block", sort=False)))
    parts = []
    for b in order:
        parts.append(groups[b])
        if b in dup:
            parts.append(groups[b].assign(_kind="duplicate"))
    return pd.concat(parts, ignore_index=True)
