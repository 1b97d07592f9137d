"""Melting point by the two-phase (solid–liquid coexistence) method in the NPH ensemble.

The slab of `msgnn.md.slab` (crystal middle half, liquid outer half, lateral box at the crystal's
NPT lattice constant at the reference Tm) is started near the reference melting point and then
integrated with no thermostat, a barostat along z only (Pzz = 0; the lateral box stays at the
crystal's lattice constant). Enthalpy is conserved, so if the slab is too hot the crystal melts
and the latent heat it absorbs cools the system, if too cold the crystal grows and warms it: the
temperature relaxes to the coexistence (melting) temperature and fluctuates about it while both
phases remain. Tm of a replica = mean temperature over the plateau (the run after a discarded
transient), with a standard error from the statistical inefficiency of the series (pymbar);
replicas (independent seeds, started at temperatures spread symmetrically about the reference so
that an incomplete relaxation does not bias the mean) give Tm = mean ± standard error of the replica values. A replica in which one
phase disappeared (no coexistence, so its temperature is not Tm) is reported and left out.
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np

from msgnn.errors import SimulationError
from msgnn.io import read_json, save_figure, sha256, write_json
from msgnn.md.lammps_env import Lammps, resolve_potential
from msgnn.md.settings import Material, MeltingSettings, SlabSettings
from msgnn.md.slab import Densities, build_two_phase, measure_densities
from msgnn.md.structure import LATTICES
from msgnn.md.system import check_finite, lammps_seed, open_lammps, per_atom
from msgnn.reference import published_melting_point

log = logging.getLogger(__name__)

def plateau_estimate(temperatures, discard_fraction: float, blocks: int = 5) -> dict:
    """Mean and standard error of the plateau of a temperature series: the first
    `discard_fraction` of the samples are dropped (the relaxation); the standard error is
    sd / sqrt(n / g) with g the statistical inefficiency of the plateau (pymbar.timeseries), which
    accounts for the time correlation of the samples. `blocks` only sets the minimum length (2 x
    blocks samples). Also returns g, the drift (slope) of the plateau in K per sample, and the
    start pymbar's detect_equilibration would pick (a later one than first_sample flags a
    relaxation that outlasted the discarded part)."""
    logging.getLogger("pymbar").setLevel(logging.ERROR)      # its import-time warnings (no JAX; a generic caveat)
    from pymbar import timeseries
    T = np.asarray(temperatures, float)
    if T.ndim != 1 or T.size < 2 * blocks or not np.all(np.isfinite(T)):
        raise ValueError(f"need a finite 1-D temperature series of at least {2 * blocks} samples, got {T.shape}")
    start = int(round(discard_fraction * T.size))
    plateau = T[start:]
    g = float(timeseries.statistical_inefficiency(plateau))
    slope = float(np.polyfit(np.arange(plateau.size), plateau, 1)[0])
    return {"mean_K": float(plateau.mean()), "stderr_K": float(plateau.std(ddof=1) * math.sqrt(g / plateau.size)),
            "n_samples": int(plateau.size), "first_sample": start, "statistical_inefficiency": g,
            "equilibrated_from_sample": int(timeseries.detect_equilibration(T)[0]), "drift_K_per_sample": slope}


def combine_replicas(values, stderrs=None) -> tuple[float, float]:
    """Mean of the replica melting points and its uncertainty: the standard error of the mean
    from the replica scatter, never smaller than the one propagated from the replicas' own
    (plateau) standard errors; with one replica, that replica's standard error."""
    v = np.asarray(values, float)
    if v.size == 0:
        raise ValueError("no replica values")
    within = (math.sqrt(float(np.sum(np.asarray(stderrs, float) ** 2))) / v.size) if stderrs is not None else 0.0
    between = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0
    return float(v.mean()), max(between, within)


def start_temperatures(tm_ref: float, replicas: int, spread_K: float) -> list[float]:
    if replicas == 1:
        return [float(tm_ref)]
    return [float(t) for t in tm_ref + spread_K * np.linspace(-1.0, 1.0, replicas)]


def _solid_fraction(c: Lammps, info) -> float:
    c("run 0 post no")
    return float(np.mean(per_atom(c, "bonds") >= info.min_bonds))


def coexistence_run(material: Material, md: SlabSettings, melting: MeltingSettings, start_temperature_K: float,
                    seed: int, densities: Densities, context: str = "coexistence") -> dict:
    """One NPH coexistence replica (`md` resolved for the material; `densities` at Tm_ref):
    returns its temperature series, solid fractions and plateau."""
    T0 = float(start_temperature_K)
    info = LATTICES[material.lattice]
    ts_fs = float(material.timestep_fs)
    every = int(melting.sample_every)
    steps = int(melting.steps)
    n_samples = max(steps // every, 4 * int(melting.blocks))
    pdamp = float(md.barostat_damp_ps)
    started = time.time()
    with open_lammps(material, context) as c:
        c.comment(f"msgnn NPH coexistence: start {T0:.1f} K, a = {densities.a_T:.5f} A (NPT crystal at Tm_ref)")
        geom = build_two_phase(c, material, md, densities, T0, seed)
        c.comment("thermalise the whole slab at the start temperature (Langevin, barostat along z only)")
        c(f"velocity solid create {T0:.2f} {seed + 3} mom yes rot no dist gaussian")
        c(f"fix lang all langevin {T0:.2f} {T0:.2f} 0.1 {seed + 4} zero yes")
        c(f"fix integ all nph z 0.0 0.0 {pdamp}")
        c(f"run {max(int(round(1000 * float(melting.thermalize_ps) / ts_fs)), 1)}")
        check_finite(c, "thermalisation")
        c("unfix lang")
        c("velocity all zero linear")
        c.comment("NPH coexistence: no thermostat; the temperature relaxes to Tm")
        c("variable lz_now equal lz")
        c(f"fix tavg all ave/time 1 {every} {every} c_thermo_temp v_lz_now")
        c("run 0")
        fs_start = _solid_fraction(c, info)
        temps, lz = [], []
        for k in range(n_samples):
            c(f"run {every} pre no post no")
            check_finite(c, f"the NPH coexistence run (sample {k + 1})")
            temps.append(float(c.lmp.extract_fix("tavg", 0, 1, 0)))
            lz.append(float(c.lmp.extract_fix("tavg", 0, 1, 1)))
        etotal = float(c.lmp.get_thermo("etotal"))
        fs_end = _solid_fraction(c, info)
        script = c.input_script
    plateau = plateau_estimate(temps, melting.discard_fraction, melting.blocks)
    fmin = float(melting.min_solid_fraction)
    coexisting = fmin <= fs_end <= 1 - fmin
    return {"start_temperature_K": T0, "seed": int(seed), "melting_point_K": plateau["mean_K"],
            "stderr_K": plateau["stderr_K"], "plateau": plateau, "coexisting": bool(coexisting),
            "solid_fraction": [fs_start, fs_end], "n_atoms": geom["n_atoms"], "cells": geom["cells"],
            "time_ps": [(k + 1) * every * ts_fs / 1000 for k in range(n_samples)],
            "temperature_K": temps, "lz_A": lz, "final_etotal_eV": etotal,
            "wall_time_s": time.time() - started, "input_script": script}


def melting_point(material_name: str, material: Material, md: SlabSettings, melting: MeltingSettings,
                  seed: int) -> dict:
    """melting_point.json content (plus the replicas' series) for one material; `md` and
    `melting` are resolved for the material's overrides here."""
    md, melting = md.for_material(material), melting.for_material(material_name)
    tm_ref = float(material.reference_melting_point_K)
    potential = resolve_potential(material.potential)
    seed = lammps_seed(seed)
    densities = measure_densities(material, tm_ref, seed, md)
    replicas = []
    for i, T0 in enumerate(start_temperatures(tm_ref, int(melting.replicas), float(melting.start_spread_K))):
        r = coexistence_run(material, md, melting, T0, seed + 1000 * (i + 1), densities,
                            context=f"{material_name} NPH coexistence replica {i} (potential {potential})")
        log.info("%s replica %d: start %.0f K -> plateau %.1f ± %.1f K, solid fraction %.2f -> %.2f%s, %.1f s",
                 material_name, i, T0, r["melting_point_K"], r["stderr_K"], *r["solid_fraction"],
                 "" if r["coexisting"] else " (one phase vanished: left out)", r["wall_time_s"])
        replicas.append(r)
    good = [r for r in replicas if r["coexisting"]]
    if not good:
        raise SimulationError(f"{material_name}: no coexistence replica kept both phases "
                              f"(end solid fractions {[round(r['solid_fraction'][1], 2) for r in replicas]}); "
                              "run longer slabs or start closer to Tm")
    tm, unc = combine_replicas([r["melting_point_K"] for r in good], [r["stderr_K"] for r in good])
    return {
        "material": material_name, "potential": material.potential,
        "melting_point_K": tm, "uncertainty_K": unc,
        "published_K": published_melting_point(material.potential)[0],   # None: no published Tm of this potential known
        "reference_K": tm_ref, "deviation_fraction": (tm - tm_ref) / tm_ref,   # from the config's starting guess
        "method": "two-phase coexistence, NPH (no thermostat, barostat Pzz = 0 along z only, lateral box at "
                  "the crystal's NPT lattice constant at the reference Tm): Tm = mean plateau temperature; "
                  "uncertainty = standard error of the mean over replicas (not below the propagated "
                  "plateau errors, sd / sqrt(n / g) with g the statistical inefficiency from pymbar.timeseries)",
        "orientation": md.orientation, "lattice_constant_A": densities.a_T, "c_over_a": densities.c_over_a,
        "liquid_volume_per_atom_A3": densities.v_liquid,
        "replicas": len(replicas), "replicas_used": len(good),
        "replica_melting_points_K": [r["melting_point_K"] for r in replicas],
        "replica_stderr_K": [r["stderr_K"] for r in replicas],
        "replica_start_temperatures_K": [r["start_temperature_K"] for r in replicas],
        "replica_solid_fraction": [r["solid_fraction"] for r in replicas],
        "replica_coexisting": [r["coexisting"] for r in replicas],
        "replica_seeds": [r["seed"] for r in replicas],
        "n_atoms": replicas[0]["n_atoms"], "cells": replicas[0]["cells"],
        "nph_steps": melting.steps,
        "timestep_fs": float(material.timestep_fs),
        "melting_settings": melting.to_dict(),
        "potential_path": str(potential), "potential_sha256": sha256(potential),
        "series": [{"time_ps": r["time_ps"], "temperature_K": r["temperature_K"], "lz_A": r["lz_A"]}
                   for r in replicas],
        "input_script": replicas[0]["input_script"],
        "synthetic": False,
    }


def plot_series(result: dict, path: str | Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6), dpi=120)
    for i, s in enumerate(result["series"]):
        ax.plot(s["time_ps"], s["temperature_K"], lw=0.8,
                label=f"replica {i}: {result['replica_melting_points_K'][i]:.0f} K")
    ax.axhline(result["reference_K"], color="gray", ls=":", label=f"start (config) {result['reference_K']:g} K")
    if result["published_K"] is not None:
        ax.axhline(result["published_K"], color="tab:red", ls="-.", label=f"published {result['published_K']:g} K")
    ax.axhline(result["melting_point_K"], color="k", ls="--",
               label=f"Tm {result['melting_point_K']:.0f} ± {result['uncertainty_K']:.0f} K")
    ax.set_xlabel("NPH time (ps)")
    ax.set_ylabel("temperature (K)")
    ax.set_title(f"{result['material']} coexistence ({result['potential']})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def write_melting_point(material_name: str, material: Material, md: SlabSettings, melting: MeltingSettings,
                        seed: int,
                        out_json: str | Path, plot_png: str | Path | None = None,
                        kinetics_json: str | Path | None = None) -> dict:
    """Run the coexistence replicas and write melting_point.json (and the T(t) plot)."""
    started = time.time()
    result = melting_point(material_name, material, md, melting, seed)
    if kinetics_json is not None:
        k = read_json(kinetics_json)
        vt = k.get("melting_point_from_velocity")
        if vt:
            result["velocity_crossing"] = vt
    if plot_png is not None:
        plot_series(result, plot_png)
    out = {k: v for k, v in result.items() if k != "series"}
    out["series"] = result["series"]
    write_json(out_json, out)
    pub = result["published_K"]
    log.info("%s: Tm = %.1f ± %.1f K (started from %g K, %+.2f %%; %s), %d/%d replicas, %.0f s", material_name,
             result["melting_point_K"], result["uncertainty_K"], result["reference_K"], 100 * result["deviation_fraction"],
             f"published {pub:g} K" if pub is not None else "no published value known",
             result["replicas_used"], result["replicas"], time.time() - started)
    return out
