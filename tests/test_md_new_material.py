"""Adding a material is config only: Ni with Foiles' u3 EAM (plain `pair_style eam`, a funcfl file,
`pair_coeff 1 1 file`), a material that is in neither config.yaml nor the smoke config, goes
through schema validation, the Snakemake DAG and the MD API, and grows below / melts above its Tm.

Reference Tm for Ni_u3.eam: ~1740 K (Foiles & Adams, PRB 40, 5909 (1989), EAM u3 functions;
experimental Ni: 1728 K). The test only needs the sign of v(T) well away from it.
"""
import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from msgnn.workflow.config import conditions, validate
from msgnn.md.analysis import material_kinetics
from msgnn.md.settings import KineticsSettings, Material, SlabSettings
from msgnn.md.slab import run_condition, write_run

ROOT = Path(__file__).resolve().parents[1]

NI = {"element": "Ni", "potential": "Ni_u3.eam", "pair_style": "eam", "lattice": "fcc",
      "lattice_constant_A": 3.52, "reference_melting_point_K": 1740, "timestep_fs": 2.0,
      "temperatures_K": [1430, 2100]}
TINY_MD = {"cells": [3, 3, 14], "melt_steps": 800, "equilibrate_steps": 200, "growth_steps": 3000,
           "sample_every": 100, "snapshots": 2, "expansion_steps": 200, "transient_ps": 1.0,
           "min_phase_thickness_A": 8.0}


def _config_with_ni() -> dict:
    cfg = yaml.safe_load((ROOT / "tests/smoke_config.yaml").read_text())
    cfg["materials"]["Ni"] = copy.deepcopy(NI)
    return cfg


@pytest.fixture(scope="module")
def ni_runs(tmp_path_factory):
    cfg = validate(_config_with_ni())
    material = Material.from_section(cfg["materials"]["Ni"])
    md = SlabSettings.from_section(cfg["md"]).replace(**TINY_MD)
    d = tmp_path_factory.mktemp("ni")
    out = {}
    for T in NI["temperatures_K"]:
        rec, snap = run_condition("Ni", material, md, T, seed=13)
        write_run(rec, snap, d / f"T{T}" / "run.json", d / f"T{T}" / "snapshots.npz")
        out[T] = (rec, d / f"T{T}" / "run.json")
    return cfg, out, d


def test_ni_is_valid_config_and_joins_the_conditions():
    cfg = validate(_config_with_ni())
    assert ("Ni", 1430) in conditions(cfg) and ("Ni", 2100) in conditions(cfg)


def test_ni_is_planned_by_snakemake_without_code_changes(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(_config_with_ni()))
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-n",
                          "results/md/Ni/kinetics.json", "--directory", str(tmp_path), "--configfile", "config.yaml"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert "md_run" in out and "md_kinetics" in out, out[-3000:]


def test_ni_grows_below_and_melts_above_its_melting_point(ni_runs):
    cfg, runs, _ = ni_runs
    below, _ = runs[1430]
    above, _ = runs[2100]
    assert below["velocity_m_per_s"] > 2 * below["stderr_m_per_s"] > 0, below["velocity_m_per_s"]
    assert above["velocity_m_per_s"] < -2 * above["stderr_m_per_s"], above["velocity_m_per_s"]
    assert below["solid_fraction"][1] > below["solid_fraction"][0]
    assert above["solid_fraction"][1] < above["solid_fraction"][0]
    assert below["latent_heat_eV_per_atom"] > 0.05           # Ni u3: ~0.17 eV/atom
    assert 3.52 < below["lattice_constant_A"] < 3.70          # thermal expansion of the NPT crystal
    # the plain-eam (funcfl) potential is set up with `pair_coeff 1 1 file` and recorded with its checksum
    assert "pair_style eam\n" in below["input_script"]
    assert any(line.startswith("pair_coeff 1 1 ") and line.endswith("Ni_u3.eam")
               for line in below["input_script"].splitlines())
    assert below["potential"] == "Ni_u3.eam" and len(below["potential_sha256"]) == 64
    # the per-material analysis works unchanged: v(T) crosses zero between the grown and the melted T
    kinetics, melting = material_kinetics([str(p) for _, p in runs.values()], "Ni",
                                          Material.from_section(cfg["materials"]["Ni"]),
                                          KineticsSettings.from_section(cfg["md"]))
    assert kinetics["element"] == "Ni" and [v["temperature_K"] for v in kinetics["velocities"]] == [1430, 2100]
    assert melting["published_K"] == 1740 and 1430 < melting["melting_point_K"] < 2100, melting
