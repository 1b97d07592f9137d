import math

import pytest

from msgnn.kinetics import EV, K_B, ClassicalNucleation, heterogeneous_factor, log10_nucleation_rate

AL = dict(melting_point_K=926, latent_heat_eV=0.11, atomic_volume_m3=1.66e-29)
CNT = ClassicalNucleation.defaults()


def test_rate_rises_steeply_with_undercooling_and_vanishes_above_tm():
    rates = [log10_nucleation_rate(T, **AL, cnt=CNT) for T in (900, 850, 800, 700)]
    assert all(a < b for a, b in zip(rates, rates[1:]))
    assert log10_nucleation_rate(926, **AL, cnt=CNT) == -math.inf
    assert log10_nucleation_rate(1000, **AL, cnt=CNT) == -math.inf


def test_barrier_matches_classical_formula():
    T, alpha, theta, J0 = 800.0, 0.45, 40.0, 1e30
    L, omega = AL["latent_heat_eV"] * EV, AL["atomic_volume_m3"]
    gamma = alpha * L / omega ** (2 / 3)
    dgv = L / omega * (926 - T) / 926
    barrier = 16 * math.pi * gamma**3 / (3 * dgv**2) * heterogeneous_factor(theta)
    expected = math.log10(J0) - barrier / (K_B * T) / math.log(10)
    got = log10_nucleation_rate(T, **AL, cnt=ClassicalNucleation.defaults(turnbull_alpha=alpha, contact_angle_deg=theta,
                                                                      prefactor_per_m3_s=J0))
    assert got == pytest.approx(expected, rel=1e-12)


def test_heterogeneous_factor_limits():
    assert heterogeneous_factor(180) == pytest.approx(1.0)
    assert heterogeneous_factor(90) == pytest.approx(0.5)
    assert heterogeneous_factor(1e-3) == pytest.approx(0.0, abs=1e-9)
