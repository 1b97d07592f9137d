"""The materials library: the MD results of many potentials collected into the tables that ship in
data/library/ (rule `library`, configs/library.yaml; docs/library.md).

- materials.csv: one row per material: what it is (potential, family, mass), its coexistence Tm
  (and the published one where there is one), the cheap descriptors of its bulk runs at Tm, the
  classifier's accuracy there, the Tm check of its interface runs, and `excluded` (empty, or why).
- kinetics.csv: one row per material, orientation and temperature: the replica-mean interface
  velocity of the growth runs.
- mu.csv: the kinetic coefficient per material and orientation with its 95 % interval, beside the
  collision-limited scale.
- diffusivity.csv: the liquid's D(T) at each slab temperature.
- interfaces.csv and interfaces/{material}_{orientation}.npz: the stationary interface at Tm
  (positions, cell, solid flags, structure types; float32, compressed): the model's atomic-scale
  input; the table keeps each interface run's velocity at Tm as a check of Tm (not an input) and
  the random walk of its interfaces there with the kinetic coefficient it implies (the
  fluctuation estimate of mu: an input).

A material is excluded, with the reason, when the config says so (`library_exclude`: a run that
cannot be done, named by whoever saw it fail) or when a check here fails: the classifier cannot tell
its crystal from its liquid at Tm, or its crystal does not stay (or grow as) the configured lattice.
"""
from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from msgnn.io import read_json_object, save_figure, write_json
from msgnn.kinetics import AMU, EV, hard_sphere_mu, kinetic_scale
from msgnn.md.fit import fluctuation_kinetic_coefficient, interface_diffusivity
from msgnn.md.settings import Material
from msgnn.md.snapshots import PER_FILE_KEYS, read_snapshots
from msgnn.md.structure import STRUCTURE_TYPES
from msgnn.reference import published_melting_point

log = logging.getLogger(__name__)

MIN_CRYSTAL_SOLID = 0.9      # the classifier must call at least this fraction of the crystal at Tm solid
MAX_LIQUID_SOLID = 0.1       # ... and at most this fraction of the liquid at Tm
MIN_LATTICE_SHARE = 0.5      # of the crystalline (fcc/hcp/bcc) CNA labels of solid atoms, the configured lattice's share
CRYSTALLINE = [STRUCTURE_TYPES.index(t) for t in ("fcc", "hcp", "bcc")]


def lattice_share(snapshots_path, lattice: str) -> float | None:
    """Among the solid atoms of a run's last snapshot with a crystalline CNA label, the share labelled
    `lattice` (None for diamond, whose label is the solid flag itself, or with no such atom)."""
    if lattice == "diamond":
        return None
    s = read_snapshots(snapshots_path)
    types = np.asarray(s["structure_type"][-1])[np.asarray(s["solid"][-1], bool)]
    crystalline = types[np.isin(types, CRYSTALLINE)]
    return float(np.mean(crystalline == STRUCTURE_TYPES.index(lattice))) if crystalline.size else None


def _exclusion(material: Material, descriptors: dict, grown_share: float | None) -> str:
    cl = descriptors["classifier"]
    if cl["crystal_solid_fraction"] < MIN_CRYSTAL_SOLID or cl["liquid_solid_fraction"] > MAX_LIQUID_SOLID:
        return (f"the solid/liquid classifier fails at Tm (crystal {cl['crystal_solid_fraction']:.2f} solid, "
                f"liquid {cl['liquid_solid_fraction']:.2f} solid)")
    types = descriptors["crystal"].get("structure_fractions") or {}
    if material.lattice != "diamond" and types and max(types, key=lambda t: types[t] if t != "other" else -1) != material.lattice:
        return f"the {material.lattice} crystal does not stay {material.lattice} at Tm (CNA: {types})"
    if grown_share is not None and grown_share < MIN_LATTICE_SHARE:
        return (f"grows another phase: only {grown_share:.0%} of the crystalline solid of the deepest-undercooled "
                f"growth run is {material.lattice}")
    return ""


def material_row(name: str, material: Material, melting: dict, descriptors: dict, grown_share: float | None) -> dict:
    from pymatgen.core import Element
    mass = float(material.mass_amu or Element(material.element).atomic_mass)
    pub, source = published_melting_point(material.potential)
    cr, lq = descriptors["crystal"], descriptors["liquid"]
    at_tm = min(descriptors["diffusion"], key=lambda d: abs(d["temperature_K"] - melting["melting_point_K"]))
    grams = mass * AMU * 1e3
    return {
        "material": name, "element": material.element, "potential": material.potential,
        "pair_style": material.pair_style, "family": material.lattice, "mass_amu": mass,
        "melting_point_K": melting["melting_point_K"], "melting_point_stderr_K": melting["uncertainty_K"],
        "published_melting_point_K": pub, "published_melting_point_source": source,
        "latent_heat_eV_per_atom": descriptors["latent_heat_eV_per_atom"],
        "lattice_constant_at_tm_A": cr["a_A"], "c_over_a_at_tm": cr.get("c_over_a"),
        "crystal_volume_per_atom_A3": cr["volume_per_atom_A3"], "liquid_volume_per_atom_A3": lq["volume_per_atom_A3"],
        "crystal_density_g_cm3": grams / (cr["volume_per_atom_A3"] * 1e-24),
        "liquid_density_g_cm3": grams / (lq["volume_per_atom_A3"] * 1e-24),
        "liquid_rdf_peak_A": lq["rdf_first_peak_A"], "liquid_rdf_peak_height": lq["rdf_first_peak_height"],
        "liquid_diffusivity_near_tm_m2_per_s": at_tm["diffusivity_m2_per_s"],
        "kinetic_scale_m_per_s_per_K": kinetic_scale(mass, melting["melting_point_K"]),
        "classifier_crystal_solid_fraction": descriptors["classifier"]["crystal_solid_fraction"],
        "classifier_liquid_solid_fraction": descriptors["classifier"]["liquid_solid_fraction"],
        "cna_crystal_fraction_at_tm": descriptors["classifier"].get("crystal_structure_fraction"),
        "grown_lattice_share": grown_share,
        "excluded": _exclusion(material, descriptors, grown_share),
    }


def kinetics_rows(name: str, kinetics: dict, tm_K: float) -> list[dict]:
    return [{"material": name, "orientation": v["orientation"], "temperature_K": v["temperature_K"],
             "t_over_tm": v["temperature_K"] / tm_K, "velocity_m_per_s": v["velocity_m_per_s"],
             "stderr_m_per_s": v["stderr_m_per_s"], "n_replicas": v["n_replicas"],
             "interface_temperature_K": v.get("interface_temperature_K"),
             "replica_velocities_m_per_s": " ".join(f"{x:.4g}" for x in v["replica_velocities_m_per_s"])}
            for v in kinetics["velocities"]]


def mu_rows(name: str, kinetics: dict, mass_amu: float, tm_K: float, lattice: str) -> list[dict]:
    rows = []
    for orient, o in kinetics["orientations"].items():
        ci = o.get("ci95") or [None, None]
        rows.append({"material": name, "orientation": orient, "mu_m_per_s_per_K": o["mu_m_per_s_per_K"],
                     "ci95_lo": ci[0], "ci95_hi": ci[1], "n_temperatures": o["n_temperatures"],
                     "hard_sphere_mu_m_per_s_per_K": hard_sphere_mu(mass_amu, tm_K, orient) if lattice == "fcc" else None})
    return rows


def interface_arrays(snapshots_path) -> dict:
    """The interface snapshots, compressed for shipping: still a snapshots.npz (msgnn.md.snapshots,
    so the atomic graphs read it as they read any run's), with float32 reals, int8 structure types
    and int16 coordination."""
    s = read_snapshots(snapshots_path)
    small = {"solid": bool, "structure_type": np.int8, "coordination": np.int16}
    return {k: v if k in PER_FILE_KEYS else v.astype(small.get(k, np.float32)) for k, v in s.items()}


def interface_fluctuation(run: dict, row: dict) -> dict:
    """The random walk of the interfaces of a run at Tm (msgnn.md.fit.interface_diffusivity, the mean of
    both interfaces) and the kinetic coefficient it implies (fluctuation_kinetic_coefficient), with the
    material's crystal volume and latent heat at Tm (`row`: its materials.csv row)."""
    series, area_A2 = run["solid_count_series"], run["interface_area_m2"] * 1e20
    n_solid_per_A3 = 1.0 / row["crystal_volume_per_atom_A3"]
    D = float(np.mean([interface_diffusivity(series["time_ps"], series[side], area_A2, n_solid_per_A3)
                       for side in ("n_solid_lower", "n_solid_upper")]))
    L_v = row["latent_heat_eV_per_atom"] * EV * n_solid_per_A3 * 1e30
    return {"interface_diffusivity_A2_per_ps": D,
            "fluctuation_mu_m_per_s_per_K": fluctuation_kinetic_coefficient(D, L_v, area_A2, row["melting_point_K"])}


def collect(materials: dict[str, Material], inputs: dict[str, dict], excluded_by_config: dict[str, str],
            out_dir, provenance_files=()) -> dict:
    """Write data/library/ from each material's result files (`inputs[name]`: melting, descriptors,
    kinetics, interfaces {orientation: (run.json, snapshots.npz)}, growth_snapshots)."""
    out = Path(out_dir)
    (out / "interfaces").mkdir(parents=True, exist_ok=True)
    mats, kin, mu, diff, faces = [], [], [], [], []
    for name, material in materials.items():
        if name in excluded_by_config:
            mats.append({"material": name, "element": material.element, "potential": material.potential,
                         "pair_style": material.pair_style, "family": material.lattice,
                         "excluded": excluded_by_config[name]})
            continue
        f = inputs[name]
        melting, descriptors = read_json_object(f["melting"]), read_json_object(f["descriptors"])
        kinetics = read_json_object(f["kinetics"])
        grown = lattice_share(f["growth_snapshots"], material.lattice)
        row = material_row(name, material, melting, descriptors, grown)
        mats.append(row)
        tm = row["melting_point_K"]
        kin += kinetics_rows(name, kinetics, tm)
        mu += mu_rows(name, kinetics, row["mass_amu"], tm, material.lattice)
        diff += [{"material": name, "temperature_K": d["temperature_K"], "diffusivity_m2_per_s": d["diffusivity_m2_per_s"],
                  "stderr_m2_per_s": d["stderr_m2_per_s"], "crystallised": d["crystallised"]}
                 for d in descriptors["diffusion"]]
        for o, (run_json, snaps) in f["interfaces"].items():
            arrays = interface_arrays(snaps)
            with open(out / "interfaces" / f"{name}_{o}.npz", "wb") as fh:
                np.savez_compressed(fh, **arrays)
            run = read_json_object(run_json)
            # the interface run's velocity at Tm: ~0 if Tm is right (a check of Tm, never a model input);
            # its random walk there: the fluctuation estimate of mu (an input of the growth task)
            faces.append({"material": name, "orientation": o, "file": f"interfaces/{name}_{o}.npz",
                          "temperature_K": run["temperature_K"], "n_atoms": run["n_atoms"],
                          "snapshots": int(arrays["positions_A"].shape[0]),
                          **interface_fluctuation(run, row),
                          "tm_check_velocity_m_per_s": run["velocity_m_per_s"],
                          "tm_check_stderr_m_per_s": run["stderr_m_per_s"]})
        if row["excluded"]:
            log.warning("%s excluded: %s", name, row["excluded"])
    tables = {"materials": pd.DataFrame(mats), "kinetics": pd.DataFrame(kin), "mu": pd.DataFrame(mu),
              "diffusivity": pd.DataFrame(diff), "interfaces": pd.DataFrame(faces)}
    for key, df in tables.items():
        df.to_csv(out / f"{key}.csv", index=False, float_format="%.6g")
    prov = out / "provenance"
    for p in provenance_files:
        dst = prov / Path(p).parent.name / Path(p).name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, dst)
    summary = {"materials": len(mats), "included": int(sum(not r.get("excluded") for r in mats)),
               "excluded": {r["material"]: r["excluded"] for r in mats if r.get("excluded")},
               "families": tables["materials"].groupby("family").size().to_dict(),
               "growth_conditions": len(kin)}
    write_json(out / "summary.json", summary)
    return tables


def plot_library(tables: dict, mu_png, tm_png) -> None:
    """mu against sqrt(k_B / (m Tm)) per orientation and family, with the hard-sphere lines; and
    the coexistence Tm against the published Tm."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from msgnn.kinetics import HARD_SPHERE_C
    m = tables["materials"]
    ok = m[m["excluded"].fillna("") == ""]
    mu = tables["mu"].merge(ok[["material", "family", "kinetic_scale_m_per_s_per_K"]], on="material")
    fig, ax = plt.subplots(figsize=(6, 4.4), dpi=120)
    markers = {"fcc": "o", "bcc": "s", "hcp": "^", "diamond": "D"}
    for (family, orient), g in mu.groupby(["family", "orientation"]):
        lo = (g["mu_m_per_s_per_K"] - g["ci95_lo"]).clip(lower=0)
        hi = (g["ci95_hi"] - g["mu_m_per_s_per_K"]).clip(lower=0)
        ax.errorbar(g["kinetic_scale_m_per_s_per_K"], g["mu_m_per_s_per_K"], yerr=[lo, hi],
                    fmt=markers.get(family, "o"), ms=5, capsize=2, label=f"{family} ({orient})")
    if len(mu):
        x = np.linspace(0, mu["kinetic_scale_m_per_s_per_K"].max() * 1.1, 10)
        for orient, c in HARD_SPHERE_C.items():
            ax.plot(x, c * x, ls="--", lw=0.8, color="0.5")
            ax.annotate(f"hard sphere fcc ({orient})", (x[-1], c * x[-1]), fontsize=6, color="0.4", ha="right")
    ax.axhline(0, color="k", lw=0.5)
    ax.set(xlabel="sqrt(k_B / (m Tm)) (m/s/K)", ylabel="μ (m/s/K), 95 % CI", title="kinetic coefficients of the library")
    ax.legend(fontsize=6.5, ncol=2)
    fig.tight_layout()
    save_figure(fig, mu_png)

    fig, ax = plt.subplots(figsize=(4.6, 4.4), dpi=120)
    have = m[m["published_melting_point_K"].notna()] if "published_melting_point_K" in m else m.iloc[:0]
    for family, g in have.groupby("family"):
        ax.errorbar(g["published_melting_point_K"], g["melting_point_K"], yerr=1.96 * g["melting_point_stderr_K"],
                    fmt=markers.get(family, "o"), ms=5, capsize=2, label=family)
        for _, r in g.iterrows():
            ax.annotate(r["material"], (r["published_melting_point_K"], r["melting_point_K"]), fontsize=6,
                        xytext=(3, -8), textcoords="offset points")
    lim = [m["melting_point_K"].min() * 0.9, m["melting_point_K"].max() * 1.05] if m["melting_point_K"].notna().any() else [0, 1]
    ax.plot(lim, lim, "k:", lw=0.8)
    ax.set(xlabel="published Tm (K)", ylabel="coexistence Tm, this workflow (K)",
           title=f"melting points ({len(have)} with a published value)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, tm_png)


# ---- carrying a material's finished runs between machines (the library takes several sessions) ----
ORIENTATION_NAMES = ("100", "110", "111", "0001", "10-10")


def _belongs(name: str, material: str) -> bool:
    """Whether a results file name (provenance tag, log or benchmark) is one of `material`'s jobs:
    `{m}.ext`, `{m}_{orientation}...`, `material-{m}.json` or `material-{m}_orientation-...`."""
    stem = name.removeprefix("material-")
    if stem.split(".")[0] == material:
        return True
    rest = stem.removeprefix(f"{material}_")
    return rest != stem and re.split(r"[_.]", rest.removeprefix("orientation-"))[0] in ORIENTATION_NAMES


def material_files(run_dir, material: str) -> list[Path]:
    """The finished results of one material under a workflow folder: results/md/{material}/
    (without checkpoints) and its jobs' provenance records, logs and benchmark files."""
    run = Path(run_dir)
    files = [p for p in (run / "results/md" / material).rglob("*") if p.is_file() and "checkpoint" not in p.parts]
    for sub in ("results/provenance", "results/logs/md", "results/benchmarks/md"):
        files += [p for p in (run / sub).rglob("*") if p.is_file() and _belongs(p.name, material)]
    return sorted(files)


def pack(run_dir, material: str, out_dir, partial: bool = False) -> Path:
    """{out_dir}/{material}.tar.xz of the material's finished results (paths relative to the run
    folder, file times kept, so that Snakemake sees them as done after `unpack`). Without
    `partial` the material must be finished (its kinetics.json written); with it, whatever jobs
    have finished (e.g. only the coexistence Tm) are archived."""
    import tarfile
    run, out = Path(run_dir), Path(out_dir)
    files = material_files(run, material)
    if not files or (not partial and not (run / "results/md" / material / "kinetics.json").is_file()):
        raise FileNotFoundError(f"{run / 'results/md' / material}: the material is not finished "
                                "(pack it with partial=True / --partial to keep the jobs that are)")
    out.mkdir(parents=True, exist_ok=True)
    dest = out / f"{material}.tar.xz"
    with tarfile.open(dest, "w:xz") as tar:
        for p in files:
            tar.add(p, arcname=str(p.relative_to(run)))
    return dest


def unpack(archive, run_dir) -> int:
    """Extract a `pack` archive into a workflow folder; returns the number of files."""
    import tarfile
    with tarfile.open(archive, "r:xz") as tar:
        members = tar.getmembers()
        tar.extractall(run_dir, filter="data")
    return len(members)
