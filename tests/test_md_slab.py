"""A tiny real crystal–liquid slab: grows well below Tm, melts well above, outputs per CONTRACTS."""
import json

import numpy as np
import pytest

from msgnn.md.slab import run_condition, write_run

AL = {"element": "Al", "potential": "Al_mm.eam.fs", "pair_style": "eam/fs", "lattice": "fcc",
      "lattice_constant_A": 4.05, "reference_melting_point_K": 926, "timestep_fs": 2.0}
MD = {"cells": [3, 3, 14], "melt_steps": 800, "equilibrate_steps": 200, "growth_steps": 3000, "sample_every": 100,
      "snapshots": 2, "expansion_steps": 200, "transient_ps": 1.0, "min_phase_thickness_A": 8.0}


@pytest.fixture(scope="module")
def runs():
    return {T: run_condition("Al", AL, MD, T, seed=11) for T in (760, 1100)}


def test_grows_below_and_melts_above_the_melting_point(runs):
    below, _ = runs[760]
    above, _ = runs[1100]
    assert below["velocity_m_per_s"] > 2 * below["stderr_m_per_s"] > 0
    assert above["velocity_m_per_s"] < -2 * above["stderr_m_per_s"]
    assert 5 < below["velocity_m_per_s"] < 300 and -600 < above["velocity_m_per_s"] < -5
    assert below["solid_fraction"][1] > below["solid_fraction"][0]
    assert above["solid_fraction"][1] < above["solid_fraction"][0]
    assert below["latent_heat_eV_per_atom"] > 0.05          # Al: ~0.1 eV/atom
    assert abs(below["interface_temperature_K"] - 760) < 60


def test_outputs_follow_the_contract(runs, tmp_path):
    rec, snap = runs[760]
    for key in ("material", "element", "temperature_K", "orientation", "velocity_m_per_s", "stderr_m_per_s",
                "latent_heat_eV_per_atom", "atomic_volume_m3", "interface_area_m2", "n_atoms", "timestep_fs",
                "lammps_version", "potential", "potential_sha256", "seed", "input_script", "wall_time_s",
                "solid_fraction"):
        assert key in rec, key
    assert "pair_coeff" in rec["input_script"] and "Al_mm.eam.fs" in rec["input_script"]
    th = rec["thermo"]
    assert len(th["time_ps"]) == len(th["temp_K"]) == len(th["pe_eV"]) == len(th["press_bar"]) > 0
    assert abs(np.mean(th["temp_K"]) - 760) < 60 and max(th["pe_eV"]) < 0   # thermostatted, bound metal
    F, N = 2, rec["n_atoms"]
    assert snap["positions_A"].shape == (F, N, 3) and snap["cell_A"].shape == (F, 3, 3)
    for k in ("structure_type", "solid", "pe_eV", "coordination", "q6"):
        assert snap[k].shape == (F, N), k
    assert snap["interface_z_A"].shape == (F, 2) and str(snap["element"]) == "Al"
    assert np.all(snap["time_ps"][1:] > snap["time_ps"][:-1])
    write_run(rec, snap, tmp_path / "run.json", tmp_path / "snapshots.npz")
    assert json.loads((tmp_path / "run.json").read_text())["temperature_K"] == 760
    with np.load(tmp_path / "snapshots.npz") as z:
        assert z["solid"].dtype == bool
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "snapshots.npz"]
