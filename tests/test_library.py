"""The materials library through the workflow at smoke scale: an fcc and an hcp material run by
`snakemake library` (coexistence Tm, descriptor runs, interfaces at Tm, growth runs per orientation)
and one material excluded by config, collected into data/library/ as the library config does."""
import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import SNAKEMAKE, run
from msgnn.md.snapshots import read_snapshots

TINY = {
    "seed": 7,
    "materials": {
        "Al_mm": {"element": "Al", "potential": "Al_mm.eam.fs", "pair_style": "eam/fs", "lattice": "fcc",
                  "lattice_constant_A": 4.05, "reference_melting_point_K": 926, "orientations": ["100", "111"],
                  "temperatures_K": [800, 1000]},
        "Mg_mm": {"element": "Mg", "potential": "Mg_mm.eam.fs", "pair_style": "eam/fs", "lattice": "hcp",
                  "lattice_constant_A": 3.21, "reference_melting_point_K": 914, "orientations": ["0001", "10-10"],
                  "cells": [4, 2, 10], "temperatures_K": [790, 990]},
        "W_zhou": {"element": "W", "potential": "W_zhou.eam.alloy", "pair_style": "eam/alloy", "lattice": "bcc",
                   "lattice_constant_A": 3.165, "reference_melting_point_K": 3400, "temperatures_K": [3000, 3500]},
    },
    "library_exclude": {"W_zhou": "not run in this test"},
    "library_out": "data/library",
    "md": {"replicas": 1, "cells": [3, 3, 12], "melt_steps": 600, "equilibrate_steps": 200, "growth_steps": 2000,
           "sample_every": 100, "snapshots": 2, "expansion_steps": 300, "transient_ps": 1.0, "min_phase_thickness_A": 6.0,
           "interface": {"snapshots": 3},
           "melting": {"replicas": 1, "steps": 1000, "thermalize_ps": 0.4, "sample_every": 20},
           "bulk": {"target_atoms": 200, "equilibrate_steps": 200, "average_steps": 300, "melt_steps": 400,
                    "msd_steps": 400, "sample_every": 100}},
}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    d = tmp_path_factory.mktemp("library")
    (d / "library.yaml").write_text(yaml.safe_dump(TINY))
    run([*SNAKEMAKE, "--directory", d, "--configfile", "library.yaml", "--cores", "2", "library"], cwd=d, timeout=900)
    return d / "data" / "library"


def test_library_tables_hold_every_material_and_say_why_one_is_excluded(library):
    m = pd.read_csv(library / "materials.csv", keep_default_na=False)
    assert list(m["material"]) == ["Al_mm", "Mg_mm", "W_zhou"]
    rows = m.set_index("material")
    assert rows.loc["W_zhou", "excluded"] == "not run in this test"
    assert rows.loc["Al_mm", "family"] == "fcc" and rows.loc["Mg_mm", "family"] == "hcp"
    for name in ("Al_mm", "Mg_mm"):
        r = rows.loc[name]
        assert r["excluded"] == ""
        assert 0.7 < float(r["melting_point_K"]) / TINY["materials"][name]["reference_melting_point_K"] < 1.3
        assert 0.02 < float(r["latent_heat_eV_per_atom"]) < 0.3
        assert float(r["liquid_density_g_cm3"]) < float(r["crystal_density_g_cm3"])
        assert float(r["classifier_crystal_solid_fraction"]) > 0.9
    assert float(rows.loc["Al_mm", "published_melting_point_K"]) == 926     # msgnn/reference/published.yaml
    assert rows.loc["Mg_mm", "published_melting_point_K"] == ""            # none known: left empty
    assert 1.55 < float(rows.loc["Mg_mm", "c_over_a_at_tm"]) < 1.7


def test_library_kinetics_and_mu_per_orientation(library):
    k = pd.read_csv(library / "kinetics.csv")
    assert set(zip(k["material"], k["orientation"].astype(str))) == {
        ("Al_mm", "100"), ("Al_mm", "111"), ("Mg_mm", "0001"), ("Mg_mm", "10-10")}
    assert {"velocity_m_per_s", "stderr_m_per_s", "n_replicas", "interface_temperature_K"} <= set(k.columns)
    below = k[k["t_over_tm"] < 0.95]
    above = k[k["t_over_tm"] > 1.05]
    assert (below["velocity_m_per_s"] > 0).all() and (above["velocity_m_per_s"] < 0).all()
    mu = pd.read_csv(library / "mu.csv")
    assert len(mu) == 4 and {"mu_m_per_s_per_K", "ci95_lo", "ci95_hi"} <= set(mu.columns)
    fcc = mu[mu["material"] == "Al_mm"]
    assert fcc["hard_sphere_mu_m_per_s_per_K"].notna().all()                # C_hkl known for fcc only
    assert mu[mu["material"] == "Mg_mm"]["hard_sphere_mu_m_per_s_per_K"].isna().all()


def test_library_ships_interfaces_figures_and_provenance(library):
    for name in ("Al_mm_100", "Al_mm_111", "Mg_mm_0001", "Mg_mm_10-10"):
        with np.load(library / "interfaces" / f"{name}.npz") as z:
            assert z["positions_A"].dtype == np.float32 and z["positions_A"].shape[0] == 3   # md.interface.snapshots
            assert z["solid"].shape == z["positions_A"].shape[:2]
            assert 0.2 < z["solid"].mean() < 0.8            # both phases at Tm
        read_snapshots(library / "interfaces" / f"{name}.npz")   # a snapshots.npz the atomic graphs can read
    assert (library / "figures" / "mu_vs_kinetic_scale.png").stat().st_size > 5000
    assert (library / "figures" / "melting_point_vs_published.png").stat().st_size > 5000
    prov = {p.parent.name for p in (library / "provenance").rglob("*.json")}
    assert prov == {"md_run", "md_melting", "md_descriptors", "md_interface", "md_kinetics"}
    faces = pd.read_csv(library / "interfaces.csv", dtype={"orientation": str})
    assert sorted(faces["file"]) == sorted(f"interfaces/{n}.npz" for n in ("Al_mm_100", "Al_mm_111", "Mg_mm_0001",
                                                                          "Mg_mm_10-10"))
    # at its own Tm an interface moves slower than at the growth temperatures (smoke-scale Tm: one short replica)
    fastest = pd.read_csv(library / "kinetics.csv").groupby("material")["velocity_m_per_s"].apply(lambda v: v.abs().max())
    assert (faces["tm_check_velocity_m_per_s"].abs() < faces["material"].map(fastest)).all()
    # the interfaces' random walk at Tm needs more than these smoke-scale 4 ps: no number rather than noise
    assert faces["interface_diffusivity_A2_per_ps"].isna().all() and faces["fluctuation_mu_m_per_s_per_K"].isna().all()
    d = pd.read_csv(library / "diffusivity.csv")
    assert ((d["diffusivity_m2_per_s"] > 1e-10) & (d["diffusivity_m2_per_s"] < 5e-8)).all()


def test_a_finished_material_moves_to_another_folder_and_snakemake_keeps_it(library, tmp_path):
    """library-pack / library-unpack: the library runs in pieces across sessions and machines."""
    from msgnn.cli import main
    run_dir = library.parents[1]
    assert main(["library-pack", str(run_dir), "Al_mm", "--out", str(tmp_path / "packs")]) == 0
    names = __import__("tarfile").open(tmp_path / "packs" / "Al_mm.tar.xz").getnames()
    assert "results/md/Al_mm/kinetics.json" in names and not any("Mg_mm" in n for n in names)
    assert any(n.startswith("results/provenance/md_run/material-Al_mm_orientation-111") for n in names)
    # every job's record, log and benchmark goes with it (names end in the orientation, too)
    for rule in ("md_interface", "md_melting", "md_descriptors", "md_kinetics"):
        assert any(n.startswith(f"results/provenance/{rule}/material-Al_mm") for n in names), rule
    assert "results/logs/md/md_interface/Al_mm_111.log" in names
    from msgnn.md.library import pack
    with pytest.raises(FileNotFoundError, match="not finished"):
        pack(run_dir, "W_zhou", tmp_path / "packs")          # excluded: nothing ran
    fresh = tmp_path / "fresh"
    assert main(["library-unpack", str(tmp_path / "packs" / "Al_mm.tar.xz"), "--into", str(fresh)]) == 0
    (fresh / "library.yaml").write_text((run_dir / "library.yaml").read_text())
    dry = run([*SNAKEMAKE, "results/md/Al_mm/kinetics.json", "results/md/Mg_mm/kinetics.json", "-n",
               "--directory", fresh, "--configfile", "library.yaml"], cwd=fresh)
    assert "md_kinetics" in dry.stdout and "Mg_mm" in dry.stdout
    assert "wildcards: material=Al_mm" not in dry.stdout and "material=Al_mm," not in dry.stdout   # Al is done


def test_library_config_measures_what_the_design_asks_for():
    """configs/library.yaml: 20+ potentials run in four families, each with six undercoolings
    and two superheatings of its reference Tm, two orientations and two replicas."""
    from msgnn.workflow.config import load, orientations

    cfg = load("configs/library.yaml")
    run = {m: mat for m, mat in cfg["materials"].items() if m not in cfg["library_exclude"]}
    assert len(run) >= 20
    assert {mat["lattice"] for mat in run.values()} == {"fcc", "bcc", "hcp", "diamond"}
    assert cfg["md"]["replicas"] >= 2
    for m, mat in run.items():
        t, tm = np.array(mat["temperatures_K"]), mat["reference_melting_point_K"]
        assert (t < tm).sum() >= 6 and (t > tm).sum() >= 2, m
        assert len(orientations(cfg, m)) >= 2, m
