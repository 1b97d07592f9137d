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
from msgnn.md.settings import KineticsSettings, Material
from msgnn.reference import published_melting_point

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


SERIES_KEYS = ("solid_count_series", "thermo", "input_script", "density_input_script", "python_packages")


def _replica_mean(values, stderrs) -> tuple[float, float, float, float | None]:
    """(mean, its standard error, the propagated per-run error, the between-replica error): the
    standard error is the larger of the between-replica one (sd / sqrt(n), n >= 2) and the one
    propagated from the runs' own fit errors."""
    v, se = np.asarray(values, float), np.asarray(stderrs, float)
    within = float(np.sqrt(np.sum(se ** 2)) / v.size)
    between = float(np.std(v, ddof=1) / math.sqrt(v.size)) if v.size > 1 else None
    return float(v.mean()), max(within, between or 0.0), within, between


def combine_replicas(runs: list[dict], paths=None) -> dict:
    """One condition's result from its replicas (same material, orientation and temperature,
    independent seeds): v = replica mean; its standard error is the larger of the between-replica
    one (sd / sqrt(n), n >= 2) and the one propagated from the runs' own fit errors. The first
    replica's record supplies the rest (its time series are left in its own run.json)."""
    if not runs:
        raise ValueError("no replica runs to combine")
    paths = list(paths) if paths is not None else [None] * len(runs)
    first = runs[0]
    key = (first["material"], str(first["orientation"]), first["temperature_K"])
    for p, r in zip(paths, runs):
        if (r["material"], str(r["orientation"]), r["temperature_K"]) != key:
            raise InputFileError(p or "replica run", f"run is for {r['material']} ({r['orientation']}) at "
                                 f"{r['temperature_K']} K, expected {key[0]} ({key[1]}) at {key[2]} K")
    v = np.array([r["velocity_m_per_s"] for r in runs], float)
    se = np.array([r["stderr_m_per_s"] for r in runs], float)
    n = v.size
    mean, stderr, within, between = _replica_mean(v, se)
    out = {k: val for k, val in first.items() if k not in SERIES_KEYS and k != "provenance"}

    def mean_of(key):
        x = [r.get(key) for r in runs]
        x = [float(a) for a in x if isinstance(a, (int, float)) and math.isfinite(a)]
        return float(np.mean(x)) if x else None

    for k in ("latent_heat_eV_per_atom", "lattice_constant_A", "atomic_volume_m3", "interface_temperature_K",
              "interface_heating_K", "bulk_temperature_K"):
        if k in first:
            out[k] = mean_of(k)
    sides = [r.get("interface_velocities") for r in runs]
    if all(sides):
        out["interface_velocities"] = []
        for i, side in enumerate(sides[0]):
            m, e, _, _ = _replica_mean([s[i]["velocity_m_per_s"] for s in sides], [s[i]["stderr_m_per_s"] for s in sides])
            out["interface_velocities"].append({"side": side["side"], "velocity_m_per_s": m, "stderr_m_per_s": e})
    out.update({
        "velocity_m_per_s": mean,
        "stderr_m_per_s": stderr,
        "n_replicas": n,
        "replica_velocities_m_per_s": v.tolist(),
        "replica_stderr_m_per_s": se.tolist(),
        "replica_seeds": [r.get("seed") for r in runs],
        "replica_files": [str(p) for p in paths if p is not None],
        "between_replica_stderr_m_per_s": between,
        "within_run_stderr_m_per_s": within,
        "stderr_method": "max(between-replica sd/sqrt(n), propagated per-run N_solid(t) fit errors)",
    })
    return out


def write_condition(run_paths, out_json) -> dict:
    """Combine the replica run.json files of one condition into the condition's run.json."""
    record = combine_replicas([read_run(p) for p in run_paths], run_paths)
    write_json(out_json, record)
    return record


def material_kinetics(run_paths, material_name: str, material: Material,
                      settings: KineticsSettings) -> tuple[dict, dict]:
    """kinetics.json content and the v(T) = 0 crossing (melting point estimate) for one material.
    `run_paths`: replica run.json files (any orientations, temperatures and replicas); replicas of
    one (orientation, T) are combined first. The first orientation met is the primary one (Tm)."""
    groups: dict[tuple, list] = {}
    for p in run_paths:
        r = read_run(p)
        if r["material"] != material_name:
            raise InputFileError(p, f"run is for material {r['material']!r}, expected {material_name!r}")
        groups.setdefault((str(r["orientation"]), r["temperature_K"]), []).append((p, r))
    conds = [combine_replicas([r for _, r in g], [p for p, _ in g]) for g in groups.values()]
    tm_ref = float(material.reference_melting_point_K)
    max_undercooling_fraction = settings.kinetic_fit_max_undercooling_fraction
    velocities = [{"temperature_K": c["temperature_K"], "velocity_m_per_s": c["velocity_m_per_s"],
                   "stderr_m_per_s": c["stderr_m_per_s"], "undercooling_K": tm_ref - c["temperature_K"],
                   "orientation": str(c["orientation"]), "n_replicas": c["n_replicas"],
                   "replica_velocities_m_per_s": c["replica_velocities_m_per_s"],
                   "interface_velocities": c.get("interface_velocities"),
                   "interface_temperature_K": c.get("interface_temperature_K")}
                  for c in sorted(conds, key=lambda c: (c["temperature_K"]))]
    by_orient: dict[str, list] = {}
    for c in conds:
        by_orient.setdefault(str(c["orientation"]), []).append(c)
    fits, orientations = {}, {}
    for orient, cs in by_orient.items():
        cs = sorted(cs, key=lambda c: c["temperature_K"])
        used = [cs[i] for i in near_melting([c["temperature_K"] for c in cs], tm_ref, max_undercooling_fraction)]
        f = kinetic_fit([c["temperature_K"] for c in used], [c["velocity_m_per_s"] for c in used],
                        [c["stderr_m_per_s"] for c in used], tm_ref)
        fits[orient] = f
        orientations[orient] = {"mu_m_per_s_per_K": f["mu_m_per_s_per_K"], "ci95": f["ci95"],
                                "stderr_m_per_s_per_K": f["stderr_m_per_s_per_K"],
                                "intercept_m_per_s": f["intercept_m_per_s"], "covariance": f.get("covariance"),
                                "n_temperatures": len(used), "fit_temperatures_K": [c["temperature_K"] for c in used],
                                "replicas_per_temperature": [c["n_replicas"] for c in used],
                                "fit": "weighted linear fit v = b + mu (Tm_ref - T), weights 1/stderr^2 (replica "
                                       f"standard errors), over temperatures at most {max_undercooling_fraction:g} "
                                       "Tm_ref below Tm_ref; 95 % CI from the t distribution"}
    main = next(iter(by_orient))
    lat = [c.get("latent_heat_eV_per_atom") for c in conds if c["temperature_K"] < tm_ref]
    lat = [x for x in lat if isinstance(x, (int, float)) and math.isfinite(x)]
    heating = [c.get("interface_temperature_K") for c in conds]
    heating = [x - c["temperature_K"] for x, c in zip(heating, conds) if isinstance(x, (int, float)) and math.isfinite(x)]
    vols = [c["atomic_volume_m3"] for c in conds if isinstance(c.get("atomic_volume_m3"), (int, float))]
    kinetics = {"material": material_name, "element": material.element, "potential": material.potential,
                "reference_melting_point_K": tm_ref, "primary_orientation": main, "orientations": orientations,
                "velocities": velocities,
                "latent_heat_eV_per_atom": float(np.mean(lat)) if lat else None,
                "atomic_volume_m3": float(np.mean(vols)) if vols else None,
                "max_interface_heating_K": float(np.max(np.abs(heating))) if heating else None,
                "source": "LAMMPS MD of crystal-liquid slabs", "synthetic": False}
    melting = {"material": material_name, "potential": material.potential,
               "melting_point_K": fits[main]["melting_point_K"], "uncertainty_K": fits[main]["uncertainty_K"],
               "published_K": published_melting_point(material.potential)[0], "orientation": main,
               "method": "temperature where the weighted linear fit of v(T) crosses zero; 1-sigma from the fit covariance"}
    kinetics["melting_point_from_velocity"] = {k: melting[k] for k in
                                               ("melting_point_K", "uncertainty_K", "orientation", "method")}
    return kinetics, melting


def plot_velocities(kinetics: dict, melting: dict, path: str | Path) -> None:
    """v(T) per orientation: replica means ± 1 s.e., single replicas, the near-Tm fit with its 95 %
    confidence band and mu's interval; below, the measured interface heating T_interface - T."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tm_ref = kinetics["reference_melting_point_K"]
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(5.4, 5.4), dpi=120, sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1]})
    for i, (orient, o) in enumerate(kinetics["orientations"].items()):
        v = [x for x in kinetics["velocities"] if str(x.get("orientation")) == orient]
        T = np.array([x["temperature_K"] for x in v], float)
        col = f"C{i}"
        for x in v:
            reps = x.get("replica_velocities_m_per_s") or []
            ax.plot([x["temperature_K"]] * len(reps), reps, ".", color=col, alpha=0.35, ms=4)
        ax.errorbar(T, [x["velocity_m_per_s"] for x in v], yerr=[x["stderr_m_per_s"] for x in v], fmt="o",
                    color=col, capsize=3, label=f"({orient}) replica mean ± 1 s.e.")
        used = o.get("fit_temperatures_K") or list(T)
        tt = np.linspace(min(used) - 20, max(used) + 20, 60)
        X = np.column_stack([np.ones_like(tt), tm_ref - tt])
        fit_v = X @ np.array([o["intercept_m_per_s"], o["mu_m_per_s_per_K"]])
        ci = o.get("ci95") or [None, None]
        ci_txt = f" [{ci[0]:.2g}, {ci[1]:.2g}]" if ci[0] is not None else ""
        ax.plot(tt, fit_v, "-", color=col, label=f"({orient}) μ = {o['mu_m_per_s_per_K']:.3g}{ci_txt} m/s/K")
        if o.get("covariance") and ci[0] is not None:
            from scipy import stats
            dof = max(len(used) - 2, 1)
            band = stats.t.ppf(0.975, dof) * np.sqrt(np.einsum("ij,jk,ik->i", X, np.array(o["covariance"]), X))
            ax.fill_between(tt, fit_v - band, fit_v + band, color=col, alpha=0.15, lw=0)
        heat = [(x["temperature_K"], x.get("interface_temperature_K")) for x in v]
        heat = [(t, ti - t) for t, ti in heat if isinstance(ti, (int, float)) and math.isfinite(ti)]
        if heat:
            ax2.plot(*zip(*heat), "s", color=col, ms=4)
    ax.axhline(0, color="k", lw=0.6)
    for a in (ax, ax2):
        a.axvline(tm_ref, color="gray", ls=":")
    ax.axvline(melting["melting_point_K"], color="C3", ls="--",
               label=f"v = 0 at {melting['melting_point_K']:.0f} ± {melting['uncertainty_K']:.0f} K "
                     f"(published Tm {tm_ref:g} K dotted)")
    ax.set_ylabel("interface velocity (m/s)")
    ax.set_title(f"{kinetics['material']} ({kinetics['potential']})")
    ax.legend(fontsize=6.5)
    ax2.axhline(0, color="k", lw=0.6)
    ax2.set_ylabel("T_interface − T (K)", fontsize=8)
    ax2.set_xlabel("temperature (K)")
    fig.tight_layout()
    save_figure(fig, path)


def write_kinetics(run_paths, material_name: str, material: Material, settings: KineticsSettings,
                   kinetics_json, plot_png) -> dict:
    """Write kinetics.json (with the v(T)-crossing Tm under `melting_point_from_velocity`) and the
    v(T) plot. melting_point.json is written by rule md_melting (coexistence method) only."""
    kinetics, melting = material_kinetics(run_paths, material_name, material, settings)
    plot_velocities(kinetics, melting, plot_png)
    write_json(kinetics_json, kinetics)
    return {"kinetics": kinetics, "melting_point": melting}
