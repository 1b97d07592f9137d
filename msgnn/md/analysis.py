"""Per-material kinetics from the per-condition MD runs: v(T), kinetic coefficient mu, and the
temperature where v(T) crosses zero (kept in kinetics.json as `melting_point_from_velocity`, for
comparison; melting_point.json is written by the coexistence method, msgnn.md.melting)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from msgnn.errors import InputFileError
from msgnn.io import write_json, save_figure
from msgnn.md.fit import kinetic_fit

RUN_KEYS = ("material", "temperature_K", "orientation", "velocity_m_per_s", "stderr_m_per_s")


def read_run(path: str | Path) -> dict:
    """Read and check one run.json."""
    try:
        run = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputFileError(path, f"not a readable JSON run record ({exc})") from None
    missing = [k for k in RUN_KEYS if k not in run]
    if missing:
        raise InputFileError(path, f"run record lacks key(s) {missing}")
    for k in ("velocity_m_per_s", "stderr_m_per_s"):
        if not isinstance(run[k], (int, float)) or not math.isfinite(run[k]):
            raise InputFileError(path, f"'{k}' is {run[k]!r}, expected a finite number")
    return run


def near_melting(temperatures, tm_ref: float, max_undercooling_fraction: float, min_points: int = 3):
    """Indices of the temperatures used for the linear fit: every superheated one and those
    undercooled by at most `max_undercooling_fraction` * Tm_ref (v(T) is linear only near Tm; it
    saturates or, for Si, peaks at deep undercooling). At least `min_points`, the closest to Tm."""
    T = np.asarray(temperatures, float)
    idx = [i for i in range(T.size) if tm_ref - T[i] <= max_undercooling_fraction * tm_ref]
    if len(idx) < min(min_points, T.size):
        idx = sorted(np.argsort(np.abs(tm_ref - T))[:min(min_points, T.size)].tolist())
    return idx


def material_kinetics(run_paths, material_name: str, material: dict,
                      max_undercooling_fraction: float = 0.12) -> tuple[dict, dict]:
    """kinetics.json content and the v(T) = 0 crossing (melting point estimate) for one material."""
    runs = sorted((read_run(p) for p in run_paths), key=lambda r: r["temperature_K"])
    for p, r in zip(run_paths, runs):
        if r["material"] != material_name:
            raise InputFileError(p, f"run is for material {r['material']!r}, expected {material_name!r}")
    tm_ref = float(material["reference_melting_point_K"])
    velocities = [{"temperature_K": r["temperature_K"], "velocity_m_per_s": r["velocity_m_per_s"],
                   "stderr_m_per_s": r["stderr_m_per_s"], "undercooling_K": tm_ref - r["temperature_K"],
                   "orientation": r["orientation"], "interface_temperature_K": r.get("interface_temperature_K")}
                  for r in runs]
    orientations = {}
    by_orient: dict[str, list] = {}
    for r in runs:
        by_orient.setdefault(str(r["orientation"]), []).append(r)
    fits = {}
    for orient, rs_all in by_orient.items():
        rs = [rs_all[i] for i in near_melting([r["temperature_K"] for r in rs_all], tm_ref, max_undercooling_fraction)]
        f = kinetic_fit([r["temperature_K"] for r in rs], [r["velocity_m_per_s"] for r in rs],
                        [r["stderr_m_per_s"] for r in rs], tm_ref)
        fits[orient] = f
        orientations[orient] = {"mu_m_per_s_per_K": f["mu_m_per_s_per_K"], "ci95": f["ci95"],
                                "stderr_m_per_s_per_K": f["stderr_m_per_s_per_K"],
                                "intercept_m_per_s": f["intercept_m_per_s"],
                                "n_temperatures": len(rs), "fit_temperatures_K": [r["temperature_K"] for r in rs],
                                "fit": "weighted linear fit v = b + mu (Tm_ref - T), weights 1/stderr^2, over "
                                       f"temperatures at most {max_undercooling_fraction:g} Tm_ref below Tm_ref"}
    # Tm from the orientation with the most temperatures (the configured one)
    main = max(fits, key=lambda o: len(by_orient[o]))
    lat = [r.get("latent_heat_eV_per_atom") for r in runs if r["temperature_K"] < tm_ref]
    lat = [x for x in lat if isinstance(x, (int, float)) and math.isfinite(x)]
    kinetics = {"material": material_name, "element": material["element"], "potential": material["potential"],
                "reference_melting_point_K": tm_ref, "orientations": orientations, "velocities": velocities,
                "latent_heat_eV_per_atom": float(np.mean(lat)) if lat else None,
                "atomic_volume_m3": float(np.mean([r["atomic_volume_m3"] for r in runs if "atomic_volume_m3" in r]))
                if any("atomic_volume_m3" in r for r in runs) else None,
                "source": "LAMMPS MD of crystal-liquid slabs", "synthetic": False}
    melting = {"material": material_name, "potential": material["potential"],
               "melting_point_K": fits[main]["melting_point_K"], "uncertainty_K": fits[main]["uncertainty_K"],
               "published_K": tm_ref, "orientation": main,
               "method": "temperature where the weighted linear fit of v(T) crosses zero; 1-sigma from the fit covariance"}
    kinetics["melting_point_from_velocity"] = {k: melting[k] for k in
                                               ("melting_point_K", "uncertainty_K", "orientation", "method")}
    return kinetics, melting


def plot_velocities(kinetics: dict, melting: dict, path: str | Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    v = kinetics["velocities"]
    T = np.array([x["temperature_K"] for x in v], float)
    vel = np.array([x["velocity_m_per_s"] for x in v], float)
    err = np.array([x["stderr_m_per_s"] for x in v], float)
    tm_ref = kinetics["reference_melting_point_K"]
    fig, ax = plt.subplots(figsize=(5, 3.6), dpi=120)
    ax.errorbar(T, vel, yerr=err, fmt="o", capsize=3, label="MD (±1 s.e.)")
    for orient, o in kinetics["orientations"].items():
        used = o.get("fit_temperatures_K") or list(T)
        tt = np.linspace(min(used) - 20, max(used) + 20, 50)
        ax.plot(tt, o["intercept_m_per_s"] + o["mu_m_per_s_per_K"] * (tm_ref - tt), "-",
                label=f"({orient}) fit: mu = {o['mu_m_per_s_per_K']:.3g} m/s/K")
    ax.axhline(0, color="k", lw=0.6)
    ax.axvline(tm_ref, color="gray", ls=":", label=f"published Tm {tm_ref:g} K")
    ax.axvline(melting["melting_point_K"], color="C3", ls="--",
               label=f"MD Tm {melting['melting_point_K']:.0f} ± {melting['uncertainty_K']:.0f} K")
    ax.set_xlabel("temperature (K)")
    ax.set_ylabel("interface velocity (m/s)")
    ax.set_title(f"{kinetics['material']} ({kinetics['potential']})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def write_kinetics(run_paths, material_name: str, material: dict, kinetics_json, plot_png,
                   max_undercooling_fraction: float = 0.12) -> dict:
    """Write kinetics.json (with the v(T)-crossing Tm under `melting_point_from_velocity`) and the
    v(T) plot. melting_point.json is written by rule md_melting (coexistence method) only."""
    kinetics, melting = material_kinetics(run_paths, material_name, material, max_undercooling_fraction)
    plot_velocities(kinetics, melting, plot_png)
    write_json(kinetics_json, kinetics)
    return {"kinetics": kinetics, "melting_point": melting}
