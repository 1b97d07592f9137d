"""Homogeneous nucleation: the rate/MFPT analysis on synthetic data with known answers, and tiny
real LAMMPS replicas (cluster tracking, resume from the partial files, errors)."""
import json
import math

import numpy as np
import pytest
from scipy.special import erf

from msgnn.errors import SimulationError
from md_helpers import AL
from msgnn.md import nucleation as nuc
from msgnn.md.settings import NucleationSettings

TINY = NucleationSettings.defaults(target_atoms=500, melt_steps=300, quench_steps=100, max_steps=200, sample_every=50,
                                   n_nucleus=100, stop_fraction=0.5, replicas=2)


# ----------------------------------------------------------------------------- analysis, synthetic data

def test_rate_recovers_known_J_with_censoring():
    rng = np.random.default_rng(1)
    J, V, t_max = 2.0e36, 3.0e-26, 10e-12           # mean waiting time 1/(J V) = 16.7 ps
    t = rng.exponential(1 / (J * V), 4000)
    cens = t > t_max
    r = nuc.poisson_rate(np.minimum(t, t_max), cens, V)
    assert 0.3 < cens.mean() < 0.7                      # censoring matters here
    assert r["n_events"] == int((~cens).sum())
    assert r["J_per_m3_s"] == pytest.approx(J, rel=0.06)
    lo, hi = r["J_ci95"]
    assert lo < J < hi and hi / lo < 1.2
    # ignoring the censored replicas' time would overestimate J by about 2x
    assert (~cens).sum() / (V * t[~cens].sum()) > 1.5 * J


def test_rate_interval_is_the_exact_poisson_interval():
    # 3 events in 10 ps x 1e-26 m^3: Garwood interval for k = 3 is [0.619, 8.77] events
    r = nuc.poisson_rate([2e-12, 3e-12, 1e-12, 4e-12], [False, False, False, True], 1e-26)
    exposure = 10e-12 * 1e-26
    assert r["J_per_m3_s"] == pytest.approx(3 / exposure)
    assert r["J_ci95"][0] * exposure == pytest.approx(0.6187, abs=1e-3)
    assert r["J_ci95"][1] * exposure == pytest.approx(8.767, abs=1e-3)
    z = nuc.poisson_rate([5e-12, 5e-12], [True, True], 1e-26)
    assert z["n_events"] == 0 and z["J_per_m3_s"] is None and z["J_ci95"] is None
    assert z["J_upper95"] == pytest.approx(-math.log(0.05) / exposure)
    with pytest.raises(ValueError):
        nuc.poisson_rate([1e-12, -1.0], [False, False], 1e-26)


def test_rate_interval_covers_the_truth_about_95_percent():
    rng = np.random.default_rng(2)
    J, V, t_max, hits = 1.0, 1.0, 1.5, 0
    for _ in range(400):
        t = rng.exponential(1 / (J * V), 8)
        r = nuc.poisson_rate(np.minimum(t, t_max), t > t_max, V)
        hits += r["J_ci95"] is not None and r["J_ci95"][0] <= J <= r["J_ci95"][1] or (
            r["J_ci95"] is None and J <= r["J_upper95"])
    assert 0.92 <= hits / 400 <= 0.995


def test_kaplan_meier_survival():
    t, s = nuc.survival_curve([1.0, 2.0, 3.0, 4.0], [False, True, False, True])
    assert t.tolist() == [0.0, 1.0, 3.0]
    assert s == pytest.approx([1.0, 0.75, 0.375])   # 4 at risk -> 3/4; then 2 at risk -> x 1/2


def _erf_trajectories(n_traj, n_star, Z, tau_mean, rng, n_top=80):
    """Trajectories whose first passage to size n is t_i * g(n), g the WRS erf shape, t_i ~ Exp(tau)."""
    sizes = np.arange(1, n_top + 1)
    g = 0.5 * (1 + erf(Z * math.sqrt(math.pi) * (sizes - n_star)))
    grid = np.linspace(0, 12 * tau_mean, 24001)
    out = []
    for t_i in rng.exponential(tau_mean, n_traj):
        fpt = t_i * g                                    # increasing in n
        out.append((grid, np.searchsorted(fpt, grid, side="right")))   # n_max(t) = #sizes already reached
    return out


def test_mfpt_fit_recovers_critical_size():
    rng = np.random.default_rng(3)
    traj = _erf_trajectories(40, n_star=30.0, Z=0.04, tau_mean=10.0, rng=rng)
    fit = nuc.fit_mfpt(traj, 80, n_boot=50, seed=1, min_replicas=4)
    assert fit["critical_size"] == pytest.approx(30.0, abs=1.5)
    assert fit["zeldovich_Z"] == pytest.approx(0.04, rel=0.15)
    lo, hi = fit["critical_size_ci95"]
    assert lo <= fit["critical_size"] <= hi
    assert fit["tau_J_s"] == pytest.approx(np.mean([nuc.first_passage_time(t, m, 80) for t, m in traj]), rel=0.1)
    assert nuc.fit_mfpt(traj[:3], 80, 50, 1, min_replicas=4) is None   # too few replicas: no estimate
    t, m = traj[0]
    assert nuc.first_passage_time(t, m, 1e9) is None


def test_largest_cluster_and_box():
    ids = np.array([0, 5, 5, 5, 9, 9, 0, 7])
    solid = ids > 0
    assert nuc.largest_cluster(ids, solid) == 3
    assert nuc.largest_cluster(ids, np.zeros(8, bool)) == 0
    assert nuc.box_cells("fcc", 2000) == 8 and nuc.box_cells("diamond", 2000) == 6


# ----------------------------------------------------------------------------- real LAMMPS, tiny

def test_cluster_tracking_sees_crystal_and_liquid():
    # "melting" at 0.5 Tm keeps the crystal: one cluster spans the box -> nucleated at t = 0
    xtal = nuc.run_replica(AL, TINY.replace(melt_temperature_factor=0.5), 600, seed=3)
    assert xtal["n_atoms"] == 500
    assert xtal["n_max"][0] > 0.9 * 500 and xtal["nucleated"] and xtal["nucleation_time_s"] == 0.0
    # a liquid held above Tm: only small solid-like clusters, censored after max_steps
    liq = nuc.run_replica(AL, TINY, 1000, seed=4)
    assert not liq["nucleated"] and max(liq["n_max"]) < 50
    assert liq["hold_time_s"] == pytest.approx(200 * 2e-15) and len(liq["n_max"]) == 200 // 50 + 1
    assert liq["mean_volume_m3"] == pytest.approx(500 * 18.5e-30, rel=0.1)   # liquid Al ~18.5 A^3/atom


def test_study_resumes_from_partial_files(tmp_path, monkeypatch):
    partial = tmp_path / "nucleation_partial"
    first = nuc.nucleation_study("Al", AL, [1000], TINY, seed=11, partial_dir=partial)
    files = sorted(partial.glob("*.json"))
    assert len(files) == 2
    files[1].unlink()                                   # as if killed during the second replica
    calls = []
    real = nuc.run_replica
    monkeypatch.setattr(nuc, "run_replica", lambda *a, **k: calls.append(a) or real(*a, **k))
    out = tmp_path / "nucleation.json"
    nuc.write_nucleation("Al", AL, [1000], TINY, 11, out, tmp_path / "nucleation.png", partial)
    assert len(calls) == 1                              # only the missing replica ran again
    res = json.loads(out.read_text())
    assert res["temperatures"][0]["trajectories"] == first["temperatures"][0]["trajectories"]
    assert res["rates"][0]["temperature_K"] == 1000 and res["rates"][0]["rate_per_m3_s"] is None
    assert res["rates"][0]["upper95_per_m3_s"] > 0 and res["temperatures"][0]["n_events"] == 0
    assert not partial.exists() and (tmp_path / "nucleation.png").stat().st_size > 0
    assert "cluster/atom" in res["input_script"] and len(res["potential_sha256"]) == 64
    empty = nuc.nucleation_study("Cu", AL, [], TINY, seed=1)
    assert empty["rates"] == [] and "no nucleation_temperatures_K" in empty["note"]


def test_lammps_failure_names_material_temperature_and_replica():
    bad = AL.replace(element="Xx", mass_amu=27.0)     # not in the potential file
    with pytest.raises(SimulationError, match=r"Al nucleation at 700 K, replica 0.*pair_coeff"):
        nuc.nucleation_study("Al", bad, [700], TINY, seed=1)


def test_transient_clusters_are_not_nucleation_events():
    t = np.arange(10.0)
    # a liquid cluster passes 100 and dissolves (t=2..3), then a crystal passes 100 at t=6 and grows to 500
    m = [10, 50, 120, 130, 40, 60, 110, 200, 350, 520]
    assert nuc.committed_nucleation_time(t, m, 100, 500) == 6.0
    assert nuc.first_passage_time(t, m, 100) == 2.0           # the naive first passage would count the transient
    assert nuc.committed_nucleation_time(t, m[:8], 100, 500) is None   # never committed: censored
    assert nuc.committed_nucleation_time(t, [150, 300, 600], 100, 500) == 0.0
