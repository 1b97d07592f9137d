"""Interface-velocity and kinetic-coefficient fits recover known answers."""
import numpy as np
import pytest

from msgnn.md.fit import fit_interface_velocity, interface_positions, kinetic_fit, slab_centre, solid_per_side


def test_velocity_fit_recovers_known_slope():
    rng = np.random.default_rng(0)
    area, n = 300.0, 0.06            # Å^2, atoms/Å^3
    v_true = 25.0                    # m/s = 0.25 Å/ps per interface
    rate = v_true / 100 * 2 * area * n   # atoms/ps for two interfaces
    t = np.arange(0, 30, 0.2)
    ns = 1000 + rate * t + rng.normal(0, 5, t.size)
    r = fit_interface_velocity(t, ns, area, n, transient_ps=2.0)
    assert r["velocity_m_per_s"] == pytest.approx(v_true, abs=3 * r["stderr_m_per_s"])
    assert 0 < r["stderr_m_per_s"] < 1.0
    assert r["fit_start_ps"] >= 2.0


def test_velocity_fit_stops_when_the_liquid_is_used_up_and_handles_melting():
    area, n, total = 300.0, 0.06, 2000
    t = np.arange(0, 40, 0.25)
    rate = 40.0                                   # atoms/ps
    ns = np.minimum(1000 + rate * t, 1950.0)      # saturates once the liquid is gone (t > 23.75 ps)
    r = fit_interface_velocity(t, ns, area, n, transient_ps=1.0, n_total=total)
    assert r["velocity_m_per_s"] == pytest.approx(rate / (2 * area * n) * 100, rel=0.02)
    assert r["fit_end_ps"] < 25
    melt = fit_interface_velocity(t, 2000 - ns, area, n, transient_ps=1.0, n_total=total)
    assert melt["velocity_m_per_s"] == pytest.approx(-r["velocity_m_per_s"], rel=0.02)


def test_thin_film_limit_narrows_the_window():
    t = np.arange(0, 20, 0.5)
    ns = 500 + 40 * t                              # reaches 0.9 of 1000 atoms at t = 10 ps
    r = fit_interface_velocity(t, ns, 100.0, 0.05, n_total=1000, box_lz_A=100.0, min_phase_thickness_A=20.0)
    assert r["fit_end_ps"] <= 8.0 + 1e-9           # fraction 0.8 = 1 - 20/100 is passed at 7.5-8 ps


def test_kinetic_fit_recovers_mu_and_melting_point():
    rng = np.random.default_rng(1)
    tm_true, tm_ref, mu = 940.0, 926.0, 0.4
    T = np.array([780, 830, 870, 900, 950.0])
    err = np.full(T.size, 1.5)
    v = mu * (tm_true - T) + rng.normal(0, 1.5, T.size)
    f = kinetic_fit(T, v, err, tm_ref)
    assert f["ci95"][0] < mu < f["ci95"][1]
    assert f["mu_m_per_s_per_K"] == pytest.approx(mu, rel=0.1)
    assert abs(f["melting_point_K"] - tm_true) < 3 * f["uncertainty_K"] + 1e-9
    assert f["uncertainty_K"] < 15


def test_kinetic_fit_weights_precise_points_more():
    T = np.array([800, 850, 900, 950.0])
    v = 0.5 * (925 - T)
    v_bad = v.copy(); v_bad[0] += 30                 # one bad point with a huge error bar
    f = kinetic_fit(T, v_bad, [100, 0.5, 0.5, 0.5], 925)
    assert f["mu_m_per_s_per_K"] == pytest.approx(0.5, rel=0.05)
    assert f["melting_point_K"] == pytest.approx(925, abs=2)


@pytest.mark.parametrize("shift", [0.0, 37.0, 71.0])
def test_interface_positions_of_a_periodic_slab(shift):
    rng = np.random.default_rng(2)
    Lz, area = 100.0, 200.0
    z = rng.uniform(0, Lz, 10000)
    solid = (z > 30) & (z < 70)                     # slab 40 Å thick, interfaces at 30 and 70
    zs = (z + shift) % Lz                           # shifted, possibly wrapped over the boundary
    n_solid_density = solid.sum() / (40 * area)
    zi = interface_positions(zs, solid, Lz, 0.0, n_solid_density, area)
    expect = np.array([(30 + shift) % Lz, (70 + shift) % Lz])
    d = (zi - expect + Lz / 2) % Lz - Lz / 2
    assert np.all(np.abs(d) < 0.5)


def test_one_interface_factor():
    """The solid behind one interface moves with dN/dt = A n v, the whole slab with 2 A n v."""
    area, n, v_true = 300.0, 0.06, 25.0
    t = np.arange(0, 10, 0.2)
    one = 500 + v_true / 100 * area * n * t
    r1 = fit_interface_velocity(t, one, area, n, n_interfaces=1)
    r2 = fit_interface_velocity(t, 2 * one, area, n)
    assert r1["velocity_m_per_s"] == pytest.approx(v_true) and r2["velocity_m_per_s"] == pytest.approx(v_true)
    with pytest.raises(ValueError):
        fit_interface_velocity(t, one, area, n, n_interfaces=3)


@pytest.mark.parametrize("shift", [0.0, 45.0, 80.0])
def test_slab_centre_and_sides_of_a_wrapped_slab(shift):
    """A slab from 30 to 70 Å whose lower face advanced 5 Å more than the upper one, shifted so it
    may wrap over the box edge: the centre is found and the solid is split at a fixed plane."""
    rng = np.random.default_rng(3)
    Lz = 100.0
    z = rng.uniform(0, Lz, 20000)
    solid = (z > 30) & (z < 70)
    zs = (z + shift) % Lz - 10.0                       # box from -10 to 90
    c = slab_centre(zs, solid, Lz, -10.0)
    assert abs((c - (50 + shift - 10.0) + Lz / 2) % Lz - Lz / 2) < 0.5
    grown = solid | ((z > 25) & (z <= 30))            # the lower face advanced by 5 Å
    lower, upper = solid_per_side(zs, grown, c, Lz)
    assert lower + upper == grown.sum()
    assert (lower - upper) / grown.sum() * 45 == pytest.approx(5, abs=0.5)   # 45 Å slab: 25 vs 20 Å a side


def test_interface_diffusivity_recovers_a_random_walk_and_ignores_drift_and_label_noise():
    """Simulated interfaces at Tm (the library's length and sampling): h(t) a random walk of known
    D plus the classifier's white label noise, with and without a steady drift (Tm a few K off)."""
    from msgnn.md.fit import interface_diffusivity

    rng = np.random.default_rng(0)
    D, dt, area, rho = 0.3, 0.2, 220.0, 1 / 12.7
    t = np.arange(126) * dt
    for drift in (0.0, 0.36):
        est = [interface_diffusivity(t, (np.cumsum(rng.normal(0, np.sqrt(2 * D * dt), t.size)) + drift * t
                                         + rng.normal(0, 0.3, t.size)) * area * rho, area, rho) for _ in range(300)]
        assert 0.78 * D < np.mean(est) < 0.95 * D, np.mean(est)       # 13 % low: the detrending (docstring)
    frozen = interface_diffusivity(t, 1000 + rng.normal(0, 3, t.size), area, rho)   # label noise only
    assert abs(frozen) < 0.01
    assert np.isnan(interface_diffusivity(t[:40], np.full(40, 1000.0), area, rho))    # 8 ps: too short


def test_fluctuation_kinetic_coefficient_inverts_the_einstein_relation():
    """D = k_B Tm^2 mu / (L A): Cu-like numbers (mu 0.5 m/s/K, Tm 1325 K, L 1.75e9 J/m^3, A 220 A^2)
    give D = 0.315 A^2/ps, and back."""
    from msgnn.md.fit import fluctuation_kinetic_coefficient

    D = 1.380649e-23 * 1325 ** 2 * 0.5 / (1.75e9 * 220e-20) * 1e8          # m^2/s -> A^2/ps
    assert D == pytest.approx(0.3148, rel=1e-3)
    assert fluctuation_kinetic_coefficient(D, 1.75e9, 220.0, 1325) == pytest.approx(0.5, rel=1e-12)
