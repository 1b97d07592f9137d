"""Classical nucleation theory, used to drive the synthetic experiments from MD-measured data.

Interfacial free energy from Turnbull's relation gamma = alpha * L / Omega^(2/3) (L latent heat
per atom, Omega atomic volume); driving force per volume dg_v = (L / Omega) * dT / Tm; barrier
dG* = 16 pi gamma^3 / (3 dg_v^2) * f(theta) for heterogeneous nucleation on a substrate with
contact angle theta. Rates are returned as log10 so deep and shallow undercoolings both fit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from msgnn.settings import Settings

K_B = 1.380649e-23  # J/K
EV = 1.602176634e-19  # J


def heterogeneous_factor(contact_angle_deg: float) -> float:
    c = math.cos(math.radians(contact_angle_deg))
    return (2 + c) * (1 - c) ** 2 / 4


@dataclass(frozen=True)
class ClassicalNucleation(Settings):
    """Config `nucleation`: the constants of classical nucleation theory that drive the synthetic
    micrographs and reactor logs."""
    SECTION = ("nucleation",)
    turnbull_alpha: float
    contact_angle_deg: float
    prefactor_per_m3_s: float
    film_thickness_m: float      # micrographs: a thin film, areal rate = J x thickness


def log10_nucleation_rate(temperature_K: float, melting_point_K: float, latent_heat_eV: float,
                          atomic_volume_m3: float, cnt: ClassicalNucleation) -> float:
    """log10 of the nucleation rate J (m^-3 s^-1); -inf at or above the melting point."""
    dT = melting_point_K - temperature_K
    if dT <= 0:
        return -math.inf
    if latent_heat_eV <= 0 or atomic_volume_m3 <= 0:
        raise ValueError("latent heat and atomic volume must be positive")
    L = latent_heat_eV * EV
    gamma = cnt.turnbull_alpha * L / atomic_volume_m3 ** (2 / 3)
    dg_v = L / atomic_volume_m3 * dT / melting_point_K
    barrier = 16 * math.pi * gamma ** 3 / (3 * dg_v ** 2) * heterogeneous_factor(cnt.contact_angle_deg)
    return math.log10(cnt.prefactor_per_m3_s) - barrier / (K_B * temperature_K * math.log(10))
