"""Per-material kinetics from run records: mu, Tm, plot, bad input."""
import json

import numpy as np
import pytest

from msgnn.errors import InputFileError
from msgnn.md.analysis import write_kinetics
from msgnn.md.settings import KineticsSettings, Material

MAT = Material(element="Cu", potential="Cu_mishin1.eam.alloy", pair_style="eam/alloy", lattice="fcc",
               lattice_constant_A=3.615, reference_melting_point_K=1327, timestep_fs=2.0)
KINETICS = KineticsSettings.defaults()


def _runs(tmp_path, mu=0.35, tm=1340.0, noise=0.5, seed=0):
    rng = np.random.default_rng(seed)
    paths = []
    for T in (1130, 1190, 1240, 1290, 1360):
        p = tmp_path / f"T{T}" / "run.json"
        p.parent.mkdir()
        p.write_text(json.dumps({"material": "Cu", "temperature_K": T, "orientation": "100",
                                 "velocity_m_per_s": mu * (tm - T) + rng.normal(0, noise),
                                 "stderr_m_per_s": noise, "latent_heat_eV_per_atom": 0.12,
                                 "atomic_volume_m3": 1.24e-29}))
        paths.append(p)
    return paths


def test_kinetics_and_melting_point_files(tmp_path):
    paths = _runs(tmp_path)
    out = write_kinetics(paths, "Cu", MAT, KINETICS, tmp_path / "k.json", tmp_path / "v.png")
    assert not (tmp_path / "m.json").exists()
    k = json.loads((tmp_path / "k.json").read_text())
    m = out["melting_point"]
    assert k["melting_point_from_velocity"]["melting_point_K"] == m["melting_point_K"]
    o = k["orientations"]["100"]
    assert o["ci95"][0] < 0.35 < o["ci95"][1]
    assert o["mu_m_per_s_per_K"] == pytest.approx(0.35, rel=0.05)
    assert [v["temperature_K"] for v in k["velocities"]] == [1130, 1190, 1240, 1290, 1360]
    assert {"temperature_K", "velocity_m_per_s", "stderr_m_per_s"} <= set(k["velocities"][0])
    assert m["melting_point_K"] == pytest.approx(1340, abs=max(3 * m["uncertainty_K"], 1.0))
    assert m["published_K"] == 1327 and m["material"] == "Cu" and m["potential"] == MAT.potential
    assert (tmp_path / "v.png").read_bytes()[:4] == b"\x89PNG"
    assert out["melting_point"]["uncertainty_K"] > 0


def test_bad_run_record_names_the_file(tmp_path):
    paths = _runs(tmp_path)
    rec = json.loads(paths[2].read_text())
    del rec["stderr_m_per_s"]
    paths[2].write_text(json.dumps(rec))
    with pytest.raises(InputFileError, match="T1240"):
        write_kinetics(paths, "Cu", MAT, KINETICS, tmp_path / "k.json", tmp_path / "v.png")
    assert not (tmp_path / "k.json").exists()


def test_fit_window_keeps_the_near_melting_temperatures():
    from msgnn.md.analysis import near_melting
    T = [1350, 1450, 1530, 1600, 1740]
    assert near_melting(T, 1691, 0.12) == [2, 3, 4]          # 1530 K is 161 K < 0.12 * 1691 below Tm
    assert near_melting(T, 1691, 0.01) == [2, 3, 4]          # never fewer than three points
    assert near_melting(T, 1691, 1.0) == [0, 1, 2, 3, 4]


def _replicas(tmp_path, T=1240, velocities=(10.0, 12.0, 14.0), stderr=0.5, orientation="100"):
    paths = []
    for i, v in enumerate(velocities):
        p = tmp_path / orientation / f"T{T}" / f"r{i}" / "run.json"
        p.parent.mkdir(parents=True)
        p.write_text(json.dumps({"material": "Cu", "temperature_K": T, "orientation": orientation,
                                 "velocity_m_per_s": v, "stderr_m_per_s": stderr, "seed": 100 + i,
                                 "latent_heat_eV_per_atom": 0.1 + 0.01 * i, "atomic_volume_m3": 1.2e-29,
                                 "interface_temperature_K": T + 2.0 * i, "input_script": "run 10",
                                 "interface_velocities": [{"side": "lower", "velocity_m_per_s": v - 1,
                                                           "stderr_m_per_s": 1.0},
                                                          {"side": "upper", "velocity_m_per_s": v + 1,
                                                           "stderr_m_per_s": 1.0}]}))
        paths.append(p)
    return paths


def test_replicas_give_mean_and_between_replica_stderr(tmp_path):
    from msgnn.md.analysis import write_condition
    paths = _replicas(tmp_path)
    rec = write_condition(paths, tmp_path / "run.json")
    assert rec["velocity_m_per_s"] == pytest.approx(12.0)
    assert rec["stderr_m_per_s"] == pytest.approx(2.0 / np.sqrt(3))          # sd 2 over 3 replicas
    assert rec["n_replicas"] == 3 and rec["replica_seeds"] == [100, 101, 102]
    assert rec["latent_heat_eV_per_atom"] == pytest.approx(0.11)
    assert rec["interface_temperature_K"] == pytest.approx(1242.0)
    assert [s["velocity_m_per_s"] for s in rec["interface_velocities"]] == pytest.approx([11.0, 13.0])
    assert "input_script" not in rec and json.loads((tmp_path / "run.json").read_text()) == rec
    # replicas that agree better than their own fit errors: the propagated error is kept
    tight = write_condition(_replicas(tmp_path / "b", velocities=(12.0, 12.0, 12.0), stderr=3.0), tmp_path / "b.json")
    assert tight["stderr_m_per_s"] == pytest.approx(np.sqrt(3 * 9.0) / 3)


def test_replicas_of_different_conditions_are_refused(tmp_path):
    from msgnn.md.analysis import write_condition
    paths = _replicas(tmp_path) + _replicas(tmp_path, T=1290)
    with pytest.raises(InputFileError, match="T1290"):
        write_condition(paths, tmp_path / "run.json")
    assert not (tmp_path / "run.json").exists()


def test_kinetics_per_orientation_from_replicas(tmp_path):
    rng = np.random.default_rng(3)
    paths = []
    for orient, mu in (("100", 0.4), ("111", 0.2)):
        for T in (1200, 1240, 1270, 1300, 1350):
            vel = mu * (1330 - T) + rng.normal(0, 0.3, size=3)
            paths += _replicas(tmp_path, T=T, velocities=tuple(vel), stderr=0.3, orientation=orient)
    out = write_kinetics(paths, "Cu", MAT, KINETICS, tmp_path / "k.json", tmp_path / "v.png")
    k = out["kinetics"]
    assert k["primary_orientation"] == "100"
    for orient, mu in (("100", 0.4), ("111", 0.2)):
        o = k["orientations"][orient]
        assert o["ci95"][0] < mu < o["ci95"][1] and o["replicas_per_temperature"] == [3] * 5
    assert len(k["velocities"]) == 10 and all(v["n_replicas"] == 3 for v in k["velocities"])
    assert out["melting_point"]["melting_point_K"] == pytest.approx(1330, abs=5)
    assert k["max_interface_heating_K"] == pytest.approx(2.0)   # replica-mean interface T - T
