"""Homogeneous nucleation in a deeply undercooled liquid: many independent MD replicas, a rate J.

Method (one replica, `run_replica`): a cubic periodic box of the material's crystal (about
`target_atoms` atoms) is disordered and melted at `melt_temperature_factor` x Tm_ref (NPT,
zero pressure), quenched linearly to T and held at T (Nose-Hoover NPT, zero pressure). Every
`sample_every` steps of the hold the atoms are classified with the project's q6 bond criterion
(`classification_commands`: solid-like = at least `min_bonds` q6 bonds), the solid-like atoms are
put in a group, LAMMPS `compute cluster/atom` (cutoff between the first two neighbour shells)
labels their clusters and the largest cluster n_max(t) is counted. The nucleation time of the
replica stops once n_max passes `stop_fraction` of the atoms (a committed, growing crystal), or at
`max_steps` (censored: no nucleation seen in the observed time). Its nucleation time is the start of
the excursion of n_max above `n_nucleus` that ended there (`committed_nucleation_time`): transient
solid-like clusters of the undercooled liquid that pass `n_nucleus` and dissolve are not events.

Rate (`poisson_rate`): nucleation is a Poisson process of rate J V, so with k events in a total
observed time T_obs = sum over replicas of (nucleation time, or the whole hold if censored) the
maximum-likelihood rate is J = k / (V T_obs) (V = mean box volume during the hold); its exact 95 %
interval is the chi-square (Gamma) interval [chi2(0.025; 2k)/2, chi2(0.975; 2k+2)/2] / (V T_obs)
(statsmodels.stats.rates.confint_poisson, method "exact-c"), and with k = 0 the one-sided 95 %
upper bound is chi2(0.95; 2)/2 / (V T_obs) = 3.0 / (V T_obs). The survival curve is the
Kaplan-Meier estimate of scipy.stats.ecdf on the right-censored times.

Critical size (`fit_mfpt`): the mean first-passage time tau(n) of the largest cluster to size n,
averaged over the replicas that nucleated, is fitted with
tau(n) = tau_J / 2 [1 + erf(Z sqrt(pi) (n - n*))] (Wedekind, Reguera, Strey, J. Chem. Phys. 127,
064501 (2007)); n* is the inflection point, Z the Zeldovich factor, and tau_J = 1/(J V) gives a
second rate estimate. Its 95 % interval comes from a bootstrap over replicas (scipy.stats.bootstrap,
percentile method). Only where at least
`min_replicas_for_mfpt` replicas nucleated, otherwise null.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import time
from pathlib import Path

import numpy as np

from msgnn.io import read_json, save_figure, sha256, write_json
from msgnn.md.lammps_env import Lammps, resolve_potential
from msgnn.md.settings import Material, NucleationSettings
from msgnn.md.structure import LATTICES, lattice_command
from msgnn.md.system import classification, check_finite, create_box, lammps_seed, open_lammps, per_atom
from msgnn.progress import progress

log = logging.getLogger(__name__)

MATERIAL_KEYS = ("element", "potential", "pair_style", "lattice", "lattice_constant_A",
                 "reference_melting_point_K", "timestep_fs", "mass_amu")


def box_cells(lattice: str, target_atoms: int) -> int:
    """Unit cells per side of the cubic box closest to `target_atoms` atoms (at least 3)."""
    return max(3, round((target_atoms / LATTICES[lattice].atoms_per_cell) ** (1 / 3)))


def largest_cluster(cluster_ids, solid) -> int:
    """Size of the largest cluster among the solid-like atoms, from LAMMPS cluster ids."""
    ids = np.asarray(cluster_ids)[np.asarray(solid, bool)].astype(np.int64)
    return int(np.bincount(ids).max()) if ids.size else 0


def first_passage_time(times, n_max, n: float) -> float | None:
    """First time at which the largest cluster reaches n atoms (None if never)."""
    hit = np.flatnonzero(np.asarray(n_max) >= n)
    return float(np.asarray(times)[hit[0]]) if hit.size else None


def committed_nucleation_time(times, n_max, n: float, n_stop: float) -> float | None:
    """Nucleation time of a replica whose largest cluster went on to reach `n_stop` atoms (a
    committed, growing crystal): the start of its last excursion above n, i.e. the first sample
    from which n_max stays >= n until it reaches n_stop. Transient solid-like clusters of the
    undercooled liquid that pass n and dissolve are not events. None if n_stop was never reached."""
    n_max = np.asarray(n_max)
    end = np.flatnonzero(n_max >= n_stop)
    if not end.size:
        return None
    below = np.flatnonzero(n_max[: end[0] + 1] < n)
    start = below[-1] + 1 if below.size else 0
    return float(np.asarray(times)[start])


# --------------------------------------------------------------------------- analysis (pure numpy)

def poisson_rate(times_s, censored, volume_m3: float) -> dict:
    """Nucleation rate of a Poisson process from replica waiting times with right-censoring.

    times_s: per replica, the nucleation time or (censored) the whole observed hold; J = k / (V
    sum t); 95 % exact (chi-square) interval, statsmodels' confint_poisson(method="exact-c"); with
    k = 0 its one-sided 95 % upper bound instead."""
    from statsmodels.stats.rates import confint_poisson
    t = np.asarray(times_s, float)
    cens = np.asarray(censored, bool)
    if t.size == 0 or t.shape != cens.shape or np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError(f"need one finite non-negative time per replica, got {t!r} / {cens!r}")
    if not volume_m3 > 0:
        raise ValueError(f"volume must be positive, got {volume_m3}")
    k = int((~cens).sum())
    exposure = float(t.sum()) * volume_m3            # m^3 s
    if exposure <= 0:
        raise ValueError("zero total observed time")
    out = {"n_events": k, "exposure_m3_s": exposure}
    if k == 0:
        upper = confint_poisson(0, exposure, method="exact-c", alternative="larger")[1]
        out.update(J_per_m3_s=None, J_ci95=None, J_upper95=float(upper))
    else:
        lo, hi = confint_poisson(k, exposure, method="exact-c")
        out.update(J_per_m3_s=k / exposure, J_upper95=None, J_ci95=[float(lo), float(hi)])
    return out


def survival_curve(times, censored) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier survival (fraction of replicas not yet nucleated) at the event times
    (scipy.stats.ecdf of the right-censored times), starting from (0, 1)."""
    from scipy.stats import CensoredData, ecdf
    t = np.asarray(times, float)
    cens = np.asarray(censored, bool)
    sf = ecdf(CensoredData(uncensored=t[~cens], right=t[cens])).sf
    keep = np.isin(sf.quantiles, t[~cens])
    return np.concatenate([[0.0], sf.quantiles[keep]]), np.concatenate([[1.0], sf.probabilities[keep]])


def mfpt_curve(trajectories, sizes) -> np.ndarray:
    """Mean over trajectories (times, n_max) of the first time n_max >= n, for each n in sizes.
    Every trajectory must reach max(sizes) (use only the replicas that nucleated)."""
    out = []
    for n in sizes:
        fpt = [first_passage_time(t, m, n) for t, m in trajectories]
        if any(f is None for f in fpt):
            raise ValueError(f"a trajectory never reaches n = {n}")
        out.append(np.mean(fpt))
    return np.asarray(out)


def mfpt_model(n, tau_J, Z, n_star):
    from scipy.special import erf
    return 0.5 * tau_J * (1.0 + erf(Z * math.sqrt(math.pi) * (np.asarray(n, float) - n_star)))


def _fit_erf(sizes, tau):
    from scipy.optimize import curve_fit
    sizes = np.asarray(sizes, float)
    tau = np.asarray(tau, float)
    i_half = int(np.argmin(np.abs(tau - 0.5 * tau[-1])))
    p0 = [tau[-1], 1.0 / max(sizes[-1] - sizes[0], 1.0), sizes[i_half]]
    p, _ = curve_fit(mfpt_model, sizes, tau, p0=p0, maxfev=20000,
                     bounds=([0, 1e-5, sizes[0] - 0.5 * (sizes[-1] - sizes[0])], [10 * tau[-1] + 1e-30, 10, sizes[-1]]))
    return p


def fit_mfpt(trajectories, n_max_size: int, n_boot: int, seed: int, min_replicas: int) -> dict | None:
    """Wedekind-Reguera-Strey fit of the MFPT curve tau(n), n = 1..n_max_size, over trajectories
    (times, n_max) that all reached n_max_size. Returns tau_J, Z, n* and a bootstrap (over
    trajectories, scipy.stats.bootstrap; percentiles of the fits that converged) 95 % interval of n*;
    None with fewer than `min_replicas` trajectories."""
    from scipy.stats import bootstrap
    if len(trajectories) < min_replicas:
        return None
    sizes = np.arange(1, int(n_max_size) + 1)
    tau = mfpt_curve(trajectories, sizes)
    try:
        tau_J, Z, n_star = _fit_erf(sizes, tau)
    except (RuntimeError, ValueError):
        return None

    def resampled_n_star(pick):
        try:
            return _fit_erf(sizes, mfpt_curve([trajectories[i] for i in pick], sizes))[2]
        except (RuntimeError, ValueError):
            return np.nan                                 # a failed fit: left out of the interval

    boot = np.array([])
    if int(n_boot) > 0:
        boot = bootstrap((np.arange(len(trajectories)),), resampled_n_star, vectorized=False, n_resamples=int(n_boot),
                         method="percentile", rng=np.random.default_rng(seed)).bootstrap_distribution
        boot = boot[np.isfinite(boot)]
    ci = [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))] if len(boot) >= 20 else None
    return {"sizes": sizes.tolist(), "tau_s": tau.tolist(), "tau_J_s": float(tau_J), "zeldovich_Z": float(Z),
            "critical_size": float(n_star), "critical_size_ci95": ci, "bootstrap_fits": len(boot),
            "replicas": len(trajectories)}


# --------------------------------------------------------------------------- one replica (LAMMPS)

def run_replica(material: Material, settings: NucleationSettings, temperature_K: float, seed: int,
                context: str = "nucleation replica") -> dict:
    """Melt, quench and hold one box at T, tracking the largest solid-like cluster (see module doc)."""
    T = float(temperature_K)
    seed = lammps_seed(seed)
    started = time.time()
    with open_lammps(material, context) as c:
        n = _melt_and_quench(c, material, settings, T, seed)
        hold = _hold(c, material, settings, T)
        script = c.input_script
        version = c.version()
    times, n_max = hold["time_s"], hold["n_max"]
    t_nuc = committed_nucleation_time(times, n_max, float(settings.n_nucleus), hold["stop_at"])
    return {"temperature_K": T, "seed": seed, "n_atoms": hold["n_atoms"], "cells": n,
            "nucleated": t_nuc is not None, "nucleation_time_s": t_nuc,
            "observed_time_s": t_nuc if t_nuc is not None else times[-1],
            "hold_time_s": times[-1], "time_s": times, "n_max": n_max,
            "mean_volume_m3": float(np.mean(hold["volumes"])) * 1e-30,
            "mean_temperature_K": float(np.mean(hold["temperatures"])),
            "wall_time_s": time.time() - started, "input_script": script, "lammps_version": version}


def _melt_and_quench(c: Lammps, material: Material, s: NucleationSettings, T: float, seed: int) -> int:
    """The cubic box with the classification and cluster computes, melted (NPT, P = 0) and
    quenched linearly to T. Returns the unit cells per side."""
    lattice = material.lattice
    info = LATTICES[lattice]
    a = float(material.lattice_constant_A)
    t_melt = float(s.melt_temperature_factor) * float(material.reference_melting_point_K)
    n = box_cells(lattice, int(s.target_atoms))
    tdamp, pdamp = float(s.thermostat_damp_ps), float(s.barostat_damp_ps)
    c.comment(f"msgnn homogeneous nucleation: {n}^3 {lattice} cells melted at {t_melt:.0f} K, quenched to {T:g} K")
    create_box(c, material, lattice_command(lattice, a), (n, n, n), atom_map=True)
    for cmd in classification(material, a):
        c(cmd)
    c(f"variable solidlike atom c_bonds>={info.min_bonds}")
    c("group solidlike empty")
    c(f"compute clusters solidlike cluster/atom {info.first_shell_cutoff(a):.4f}")
    c.comment("melt (NPT, zero pressure), then quench linearly to T")
    c(f"displace_atoms all random {0.1 * a:.4f} {0.1 * a:.4f} {0.1 * a:.4f} {seed} units box")
    c(f"velocity all create {t_melt:.2f} {seed + 1} mom yes rot yes dist gaussian")
    c(f"fix integ all npt temp {t_melt:.2f} {t_melt:.2f} {tdamp} iso 0 0 {pdamp}")
    c(f"run {int(s.melt_steps)}")
    check_finite(c, "melting")
    c("unfix integ")
    c(f"fix integ all npt temp {t_melt:.2f} {T:.2f} {tdamp} iso 0 0 {pdamp}")
    c(f"run {int(s.quench_steps)}")
    check_finite(c, "the quench")
    c("unfix integ")
    return n


def _hold(c: Lammps, material: Material, s: NucleationSettings, T: float) -> dict:
    """Hold at T (NPT, P = 0), sampling the largest solid-like cluster every `sample_every` steps
    until it holds `stop_fraction` of the atoms (at least n_nucleus) or `max_steps` have passed."""
    min_bonds = LATTICES[material.lattice].min_bonds
    every = int(s.sample_every)
    c.comment("hold at T (NPT, zero pressure); largest solid-like cluster every sample")
    c(f"fix integ all npt temp {T:.2f} {T:.2f} {float(s.thermostat_damp_ps)} iso 0 0 {float(s.barostat_damp_ps)}")
    c("run 0 post no")
    n_atoms = int(c.lmp.get_natoms())
    stop_at = max(float(s.stop_fraction) * n_atoms, float(s.n_nucleus))

    def sample() -> int:
        c("group solidlike clear")
        c("group solidlike variable solidlike")
        solid = per_atom(c, "bonds") >= min_bonds
        return largest_cluster(per_atom(c, "clusters"), solid)

    out = {"n_atoms": n_atoms, "stop_at": stop_at, "time_s": [0.0], "n_max": [sample()], "volumes": [],
           "temperatures": []}
    for k in range(1, max(int(s.max_steps) // every, 1) + 1):
        c(f"run {every} pre no post no")
        check_finite(c, f"the hold at T (step {k * every})")
        out["time_s"].append(k * every * float(material.timestep_fs) * 1e-15)
        out["n_max"].append(sample())
        out["volumes"].append(float(c.lmp.get_thermo("vol")))
        out["temperatures"].append(float(c.lmp.get_thermo("temp")))
        if out["n_max"][-1] >= stop_at:
            break
    return out


# --------------------------------------------------------------------------- one material (the job)

def replica_seed(job_seed: int, temperature_K: float, index: int) -> int:
    h = hashlib.sha256(json.dumps([int(job_seed), float(temperature_K), int(index)]).encode()).hexdigest()
    return lammps_seed(int(h[:8], 16))


def _replica_key(material: Material, settings: NucleationSettings, temperature_K: float, seed: int) -> str:
    key = {"material": {k: getattr(material, k) for k in MATERIAL_KEYS},
           "settings": {k: v for k, v in settings.to_dict().items()
                        if k not in ("replicas", "material_max_steps", "min_replicas_for_mfpt", "bootstrap")},
           "T": float(temperature_K), "seed": int(seed)}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]


def analyse_temperature(replicas: list[dict], tm_ref: float, settings: NucleationSettings, seed: int = 0) -> dict:
    """Rate, survival curve and MFPT fit of one temperature's replicas."""
    T = replicas[0]["temperature_K"]
    times = [r["observed_time_s"] for r in replicas]
    cens = [not r["nucleated"] for r in replicas]
    volume = float(np.mean([r["mean_volume_m3"] for r in replicas]))
    rate = poisson_rate(times, cens, volume)
    nucleated = [(np.asarray(r["time_s"]), np.asarray(r["n_max"])) for r in replicas if r["nucleated"]]
    mfpt = fit_mfpt(nucleated, int(settings.n_nucleus), int(settings.bootstrap), seed,
                    int(settings.min_replicas_for_mfpt))
    if mfpt is not None:
        mfpt["J_from_tau_J_per_m3_s"] = 1.0 / (mfpt["tau_J_s"] * volume)
    st, ss = survival_curve(times, cens)
    return {"temperature_K": T, "undercooling_K": tm_ref - T, "reduced_temperature": T / tm_ref,
            "replicas": len(replicas), "n_events": rate["n_events"],
            "times_ps": [t * 1e12 for t in times], "censored": cens,
            "nucleated_during_quench": int(sum(r["nucleated"] and r["nucleation_time_s"] == 0 for r in replicas)),
            "volume_m3": volume, "n_atoms": replicas[0]["n_atoms"],
            "total_observed_time_ps": float(np.sum(times)) * 1e12,
            "J_per_m3_s": rate["J_per_m3_s"], "J_ci95": rate["J_ci95"], "J_upper95": rate["J_upper95"],
            "survival": {"time_ps": (st * 1e12).tolist(), "fraction": ss.tolist()},
            "mfpt": mfpt, "critical_cluster_size": mfpt["critical_size"] if mfpt else None,
            "critical_cluster_size_ci95": mfpt["critical_size_ci95"] if mfpt else None,
            "mean_temperature_K": float(np.mean([r["mean_temperature_K"] for r in replicas])),
            "seeds": [r["seed"] for r in replicas],
            "trajectories": [{"time_ps": (np.asarray(r["time_s"]) * 1e12).round(4).tolist(), "n_max": r["n_max"]}
                             for r in replicas]}


METHOD = ("Homogeneous nucleation from independent replicas: cubic periodic box melted (NPT, P = 0) at "
          "melt_temperature_factor x Tm_ref, quenched linearly to T and held at T (Nose-Hoover NPT, P = 0). "
          "Solid-like atoms by the q6 bond criterion (orientorder/atom + coord/atom orientorder, as the slab runs); "
          "largest cluster of solid-like atoms from LAMMPS compute cluster/atom (cutoff midway between the first two "
          "neighbour shells) every sample_every steps. A replica nucleated if n_max went on to reach stop_fraction "
          "of the atoms (committed growth); its nucleation time is the start of that last excursion above "
          "n_nucleus. Replicas without it by max_steps are censored. J = events / (mean box volume x total observed "
          "time) (Poisson/exponential maximum likelihood with right-censoring); 95 % interval chi-square "
          "[chi2(0.025, 2k)/2, chi2(0.975, 2k+2)/2]; no events: one-sided 95 % upper bound 3.0 / (V T_obs). "
          "Critical size n*: fit of the mean first-passage time tau(n) of the nucleated replicas to "
          "tau_J/2 [1 + erf(Z sqrt(pi) (n - n*))] (Wedekind, Reguera, Strey, JCP 127, 064501 (2007)), 95 % "
          "interval by bootstrap over replicas; null with fewer than min_replicas_for_mfpt events. "
          "Caveats: the MFPT curve uses only the replicas that nucleated (biased to fast ones when some are "
          "censored); replicas that nucleated during the quench have time 0.")


def nucleation_study(material_name: str, material: Material, temperatures_K, settings: NucleationSettings,
                     seed: int, partial_dir: str | Path | None = None) -> dict:
    """Run (or resume) every replica of every temperature of one material; return nucleation.json.
    `settings` are resolved for the material's override of max_steps here."""
    s = settings.for_material(material_name)
    temps = [float(t) for t in (temperatures_K or [])]
    potential = resolve_potential(material.potential)
    tm_ref = float(material.reference_melting_point_K)
    started = time.time()
    out = {"material": material_name, "potential": material.potential, "potential_path": str(potential),
           "potential_sha256": sha256(potential), "method": METHOD, "settings": s.to_dict(),
           "reference_melting_point_K": tm_ref, "timestep_fs": float(material.timestep_fs),
           "job_seed": int(seed), "synthetic": False, "temperatures": [], "rates": []}
    if not temps:
        out["note"] = "no nucleation_temperatures_K configured for this material: nothing was simulated"
        return out
    partial = Path(partial_dir) if partial_dir else None
    script = version = None
    for T in temps:
        replicas = []
        for i in progress(range(int(s.replicas)), f"{material_name} {T:g} K: nucleation replicas"):
            rseed = replica_seed(seed, T, i)
            path = partial / f"{_replica_key(material, s, T, rseed)}.json" if partial else None
            if path is not None and path.is_file():
                r = read_json(path)
                log.info("%s T=%g K replica %d: resumed from %s", material_name, T, i, path)
            else:
                ctx = f"{material_name} nucleation at {T:g} K, replica {i} (seed {rseed}, potential {potential})"
                r = run_replica(material, s, T, rseed, context=ctx)
                if path is not None:
                    write_json(path, r)
                log.info("%s T=%g K replica %d/%d: %s, n_max %d at %.1f ps, %.1f s", material_name, T, i + 1,
                         int(s.replicas),
                         f"nucleated at {r['nucleation_time_s'] * 1e12:.1f} ps" if r["nucleated"] else "censored",
                         r["n_max"][-1], r["hold_time_s"] * 1e12, r["wall_time_s"])
            script = script or r["input_script"]
            version = version or r["lammps_version"]
            replicas.append(r)
        res = analyse_temperature(replicas, tm_ref, s, seed)
        out["temperatures"].append(res)
        out["rates"].append({"temperature_K": res["temperature_K"], "rate_per_m3_s": res["J_per_m3_s"],
                             "ci95": res["J_ci95"], "upper95_per_m3_s": res["J_upper95"],
                             "n_events": res["n_events"], "replicas": res["replicas"]})
        log.info("%s T=%g K: %d/%d nucleated, J = %s, n* = %s", material_name, T, res["n_events"], res["replicas"],
                 f"{res['J_per_m3_s']:.3g} m^-3 s^-1 (95 % {res['J_ci95'][0]:.2g}-{res['J_ci95'][1]:.2g})"
                 if res["J_per_m3_s"] else f"< {res['J_upper95']:.3g} m^-3 s^-1 (95 %)",
                 f"{res['critical_cluster_size']:.0f}" if res["critical_cluster_size"] else "n/a")
    out.update(input_script=script, lammps_version=version)
    log.info("%s: nucleation study done in %.0f s", material_name, time.time() - started)
    return out


def plot_nucleation(result: dict, path: str | Path) -> None:
    """J(T) on a log axis (95 % intervals; upper bounds as down-arrows) and n_max(t) per replica."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=120)
    for r in result["temperatures"]:
        T = r["temperature_K"]
        if r["J_per_m3_s"]:
            lo, hi = r["J_ci95"]
            ax1.errorbar([T], [r["J_per_m3_s"]], yerr=[[r["J_per_m3_s"] - lo], [hi - r["J_per_m3_s"]]],
                         fmt="o", color="C0", capsize=3)
        else:
            ax1.plot([T], [r["J_upper95"]], marker="v", color="C3", ls="none")
    ax1.set_yscale("log")
    ax1.set_xlabel("temperature (K)")
    ax1.set_ylabel("J (m$^{-3}$ s$^{-1}$)")
    ax1.set_title(f"{result['material']}: homogeneous nucleation (v = 95 % upper bound)", fontsize=8)
    for j, r in enumerate(result["temperatures"]):
        for k, tr in enumerate(r["trajectories"]):
            ax2.plot(tr["time_ps"], tr["n_max"], lw=0.7, color=f"C{j}",
                     label=f"{r['temperature_K']:g} K ({r['n_events']}/{r['replicas']})" if k == 0 else None)
    ax2.axhline(result["settings"]["n_nucleus"], color="k", ls=":", lw=0.8)
    ax2.set_xlabel("time at T (ps)")
    ax2.set_ylabel("largest solid cluster (atoms)")
    if result["temperatures"]:
        ax2.legend(fontsize=7)
    else:
        ax2.text(0.5, 0.5, "no temperatures configured", ha="center", transform=ax2.transAxes)
    fig.tight_layout()
    save_figure(fig, path)


def write_nucleation(material_name: str, material: Material, temperatures_K, settings: NucleationSettings,
                     seed: int,
                     out_json: str | Path, plot_png: str | Path, partial_dir: str | Path | None = None) -> dict:
    """Run/resume the study, write nucleation.json and the figure, then delete the partial folder."""
    result = nucleation_study(material_name, material, temperatures_K, settings, seed, partial_dir)
    plot_nucleation(result, plot_png)
    write_json(out_json, result)
    if partial_dir is not None and Path(partial_dir).is_dir():
        shutil.rmtree(partial_dir)
    return result
