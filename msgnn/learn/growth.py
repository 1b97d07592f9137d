"""The growth task (DESIGN.md, "The learning task"): predict the interface velocity v(T, orientation)
of a material the model has never seen, from inputs that cost minutes of MD, not the growth study.

Rows: one per (material, orientation, temperature) of the shipped library (data/library/,
msgnn.md.library). Inputs, each with the file it is read from and the run that produced that file
(`INPUTS`; docs/learning_task.md is generated from it):

* the material's cheap descriptors (materials.csv: coexistence Tm, bulk runs at Tm) and the
  liquid's D(T) at the row's temperature (diffusivity.csv, bulk liquid runs);
* the set-points: T/Tm (T is the growth run's thermostat temperature, chosen in the config
  before any run) and the orientation;
* the stationary interface at Tm (interfaces/{material}_{orientation}.npz, md_interface): its
  atomic + cluster graphs (msgnn.graphs.atomic) for the MS-GNN, and for the other models the
  same graphs as fixed descriptors (mean, std, min, max of every node and edge feature).

* the random walk of those interfaces at Tm (interfaces.csv, md_interface): the kinetic
  coefficient it implies by the fluctuation-dissipation relation (msgnn.md.fit).

Nothing is read from the growth runs but the target, and nothing from kinetics.csv but the
target and the row's key (material, orientation, temperature). The interface runs' velocity at
Tm (interfaces.csv `tm_check_*`) is a check of Tm and never read.

Target transform: the collision-limited scale u(T) = sqrt(3 k_B T / m) (1 - exp(-L (Tm - T) /
(k_B T Tm))) is computed from inputs only; models learn y = v / u (dimensionless, of order 0.1-1,
positive below and above Tm where v changes sign with u) and predict v = y u; the learned ones
learn it as the residual of a physics law fitted on their training rows (msgnn.learn.lomo.OnPhysics).
Fits weight rows by u^2, so that the loss is the squared error in v (m/s), the unit errors are reported in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from msgnn.errors import InputFileError
from msgnn.kinetics import AMU, EV, K_B

FAMILIES = ("fcc", "bcc", "hcp", "diamond")
# the closest-packed interface of each family (the others are the open ones): a fact of the
# lattice, so a model can relate (111) fcc to (0001) hcp
CLOSE_PACKED = {("fcc", "111"), ("bcc", "110"), ("hcp", "0001"), ("diamond", "111")}


@dataclass(frozen=True)
class Input:
    name: str
    file: str          # in data/library/
    read_as: str       # column, or how it is computed
    run: str           # the workflow rule whose output the file's values come from


INPUTS = [
    Input("mass_amu", "materials.csv", "mass_amu", "config element -> pymatgen element data"),
    Input("melting_point_K", "materials.csv", "melting_point_K", "md_melting (NPH coexistence)"),
    Input("latent_heat_eV_per_atom", "materials.csv", "latent_heat_eV_per_atom", "md_descriptors (bulk crystal and liquid at Tm)"),
    Input("entropy_of_fusion_kB", "materials.csv", "latent_heat / (k_B Tm)", "md_descriptors, md_melting"),
    Input("volume_change_fraction", "materials.csv", "liquid / crystal volume per atom - 1", "md_descriptors"),
    Input("crystal_volume_per_atom_A3", "materials.csv", "crystal_volume_per_atom_A3", "md_descriptors"),
    Input("liquid_rdf_peak_A", "materials.csv", "liquid_rdf_peak_A", "md_descriptors (bulk liquid at Tm)"),
    Input("liquid_rdf_peak_height", "materials.csv", "liquid_rdf_peak_height", "md_descriptors (bulk liquid at Tm)"),
    Input("log10_diffusivity_m2_per_s", "diffusivity.csv", "log10 D at the row's temperature", "md_descriptors (bulk liquid at T)"),
    Input("t_over_tm", "kinetics.csv key + materials.csv", "temperature_K / melting_point_K", "config set-point; md_melting"),
    Input("undercooling_fraction", "kinetics.csv key + materials.csv", "1 - T/Tm", "config set-point; md_melting"),
    Input("close_packed", "kinetics.csv key", "orientation is the family's closest-packed plane", "config orientation"),
    *[Input(f"family_{f}", "materials.csv", f"family == {f}", "config lattice") for f in FAMILIES],
    Input("collision_scale_m_per_s", "materials.csv + kinetics.csv key", "sqrt(3 k_B T/m) (1 - exp(-L dT/(k_B T Tm)))", "md_descriptors, md_melting, config"),
    Input("wilson_frenkel_scale_m_per_s", "materials.csv + diffusivity.csv", "D(T)/rdf peak (1 - exp(-L dT/(k_B T Tm)))", "md_descriptors, md_melting, config"),
    Input("fluctuation_mu_m_per_s_per_K", "interfaces.csv", "fluctuation_mu_m_per_s_per_K: mu from the random walk of the interfaces at Tm",
          "md_interface (stationary interface at Tm), md_descriptors"),
    Input("fluctuation_scale_m_per_s", "interfaces.csv + kinetics.csv key + materials.csv", "fluctuation mu x (Tm - T)",
          "md_interface, md_descriptors, md_melting, config"),
    Input("interface graph descriptors", "interfaces/{material}_{orientation}.npz", "msgnn.graphs.atomic graph of each snapshot -> mean/std/min/max of its features", "md_interface (stationary interface at Tm)"),
]
TARGET = Input("velocity_m_per_s", "kinetics.csv", "velocity_m_per_s (replica mean)", "md_run -> md_kinetics (growth runs)")
# Runs no input may come from (the growth study the target is measured in).
FORBIDDEN_RUNS = ("md_run", "md_kinetics")
KEY = ["material", "family", "orientation", "temperature_K"]


def inputs_markdown() -> str:
    """The table of docs/learning_task.md: every input, the file it is read from and the run that made it."""
    rows = ["| input | read from (data/library/) | how | produced by |", "|---|---|---|---|"]
    rows += [f"| `{i.name}` | {i.file} | {i.read_as} | {i.run} |" for i in INPUTS]
    rows.append(f"| **target** `{TARGET.name}` | {TARGET.file} | {TARGET.read_as} | {TARGET.run} |")
    return "\n".join(rows)


def driving_force_factor(T, Tm, L_eV):
    """1 - exp(-dmu / k_B T) with dmu = L (Tm - T) / Tm (per atom)."""
    T, Tm = np.asarray(T, float), np.asarray(Tm, float)
    dmu = np.asarray(L_eV, float) * EV * (Tm - T) / Tm
    return 1.0 - np.exp(-dmu / (K_B * T))


def collision_scale(T, mass_amu, Tm, L_eV):
    """sqrt(3 k_B T / m) (1 - exp(-dmu/k_B T)) in m/s: the collision-limited velocity with C = 1."""
    return np.sqrt(3 * K_B * np.asarray(T, float) / (np.asarray(mass_amu, float) * AMU)) * driving_force_factor(T, Tm, L_eV)


def _read(library: Path, name: str, **kw) -> pd.DataFrame:
    path = library / name
    if not path.is_file():
        raise InputFileError(path, "materials-library table not found (run `snakemake --configfile configs/library.yaml library`)")
    return pd.read_csv(path, dtype={"orientation": str}, keep_default_na=False, na_values=[""], **kw)


def growth_table(library_dir) -> pd.DataFrame:
    """One row per (material, orientation, temperature) of the included materials: KEY columns, the
    scalar inputs of INPUTS, `target_scale_m_per_s` (= collision_scale), the target
    `velocity_m_per_s` and its `stderr_m_per_s`."""
    lib = Path(library_dir)
    mats = _read(lib, "materials.csv")
    mats = mats[mats["excluded"].isna() | (mats["excluded"] == "")].set_index("material")
    kin = _read(lib, "kinetics.csv")
    diff = _read(lib, "diffusivity.csv")
    kin = kin[kin["material"].isin(mats.index)]
    rows = kin[["material", "orientation", "temperature_K", "velocity_m_per_s", "stderr_m_per_s"]].copy()
    m = mats.loc[rows["material"]].reset_index(drop=True)
    rows = rows.reset_index(drop=True)
    rows.insert(1, "family", m["family"].to_numpy())
    T, Tm, L, mass = rows["temperature_K"].to_numpy(float), m["melting_point_K"].to_numpy(float), \
        m["latent_heat_eV_per_atom"].to_numpy(float), m["mass_amu"].to_numpy(float)
    d = diff.set_index(["material", "temperature_K"])["diffusivity_m2_per_s"]
    missing = [k for k in zip(rows["material"], rows["temperature_K"]) if k not in d.index]
    if missing:
        raise InputFileError(lib / "diffusivity.csv", f"no liquid diffusivity at growth temperature(s) {missing[:5]}")
    D = np.array([d[k] for k in zip(rows["material"], rows["temperature_K"])], float)
    faces = _read(lib, "interfaces.csv").set_index(["material", "orientation"])["fluctuation_mu_m_per_s_per_K"]
    missing = sorted(set(zip(rows["material"], rows["orientation"])) - set(faces.index))
    if missing:
        raise InputFileError(lib / "interfaces.csv", f"no interface at Tm for {missing[:5]}")
    mu_f = np.array([faces[k] for k in zip(rows["material"], rows["orientation"])], float)
    if not np.isfinite(mu_f).all():
        bad = sorted({k for k, x in zip(zip(rows["material"], rows["orientation"]), mu_f) if not np.isfinite(x)})
        raise InputFileError(lib / "interfaces.csv", f"no fluctuation_mu_m_per_s_per_K for {bad[:5]} "
                                                     "(an interface run too short for its random walk)")
    X = {
        "mass_amu": mass, "melting_point_K": Tm, "latent_heat_eV_per_atom": L,
        "entropy_of_fusion_kB": L * EV / (K_B * Tm),
        "volume_change_fraction": m["liquid_volume_per_atom_A3"].to_numpy(float) / m["crystal_volume_per_atom_A3"].to_numpy(float) - 1,
        "crystal_volume_per_atom_A3": m["crystal_volume_per_atom_A3"].to_numpy(float),
        "liquid_rdf_peak_A": m["liquid_rdf_peak_A"].to_numpy(float),
        "liquid_rdf_peak_height": m["liquid_rdf_peak_height"].to_numpy(float),
        "log10_diffusivity_m2_per_s": np.log10(np.clip(D, 1e-12, None)),
        "t_over_tm": T / Tm, "undercooling_fraction": 1 - T / Tm,
        "close_packed": np.array([(f, o) in CLOSE_PACKED for f, o in zip(rows["family"], rows["orientation"])], float),
        **{f"family_{f}": (rows["family"] == f).to_numpy(float) for f in FAMILIES},
        "collision_scale_m_per_s": collision_scale(T, mass, Tm, L),
        "wilson_frenkel_scale_m_per_s": D / (m["liquid_rdf_peak_A"].to_numpy(float) * 1e-10) * driving_force_factor(T, Tm, L),
        "fluctuation_mu_m_per_s_per_K": mu_f, "fluctuation_scale_m_per_s": mu_f * (Tm - T),
    }
    out = pd.concat([rows[KEY], pd.DataFrame(X)], axis=1)
    out["target_scale_m_per_s"] = out["collision_scale_m_per_s"]
    out["velocity_m_per_s"] = rows["velocity_m_per_s"].to_numpy(float)
    out["stderr_m_per_s"] = rows["stderr_m_per_s"].to_numpy(float)
    return out


SCALAR_INPUTS = [i.name for i in INPUTS if i.name != "interface graph descriptors"]


def interface_descriptors(library_dir, materials_orientations, settings) -> pd.DataFrame:
    """The interface graphs as fixed descriptors, one row per (material, orientation): mean over
    snapshots of the mean, std, min and max of every atom, cluster and bond feature over the
    graph's nodes/edges (msgnn.graphs.atomic.snapshot_graph with `settings`; the statistics of the
    descriptor baselines, msgnn.learn.model.baselines.feature_stats)."""
    from msgnn.graphs.atomic import ATOM_FEATURES, CLUSTER_FEATURES, EDGE_FEATURES, snapshot_graph
    from msgnn.learn.model.baselines import feature_stats
    from msgnn.md.snapshots import frame, read_snapshots

    names = [f"{lvl}_{f}_{stat}" for lvl, feats in (("atom", ATOM_FEATURES), ("cluster", CLUSTER_FEATURES),
                                                      ("bond", EDGE_FEATURES))
             for stat in ("mean", "std", "min", "max") for f in feats]
    rows = []
    for material, orientation in materials_orientations:
        s = read_snapshots(Path(library_dir) / "interfaces" / f"{material}_{orientation}.npz")
        per = []
        for f in range(s["solid"].shape[0]):
            g = snapshot_graph(frame(s, f), str(s["lattice"]), settings)
            per.append(np.concatenate([feature_stats(g[k]).numpy() for k in ("atom_x", "cluster_x", "atom_edge_attr")]))
        rows.append({"material": material, "orientation": orientation, **dict(zip(names, np.mean(per, axis=0)))})
    return pd.DataFrame(rows)


def rmse(a, b) -> float:
    return float(math.sqrt(np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2)))
