"""Classical nucleation theory, used to drive the synthetic experiments from MD-measured data.

Interfacial free energy from Turnbull's relation gamma = alpha * L / Omega^(2/3) (L latent heat
per atom, Omega atomic volume); driving force per volume dg_v = (L / Omega) * dT / Tm; barrier
dG* = 16 pi gamma^3 / (3 dg_v^2) * f(theta) for heterogeneous nucleation on a substrate with
contact angle theta. Rates are returned as log10 so deep and shallow undercoolings both fit.

Also the collision-limited (hard-sphere) scale of the kinetic coefficient of fcc crystal-melt
interfaces, mu_hkl = C_hkl sqrt(k_B / (m Tm)) (Amini & Laird, PRL 97, 216102 (2006)).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.constants import Boltzmann as K_B, atomic_mass as AMU, electron_volt as EV   # J/K, kg, J

from msgnn.settings import Settings

# C_hkl of the collision-limited kinetic coefficient of fcc interfaces (Amini & Laird 2006)
HARD_SPHERE_C = {"100": 1.44, "110": 1.10, "111": 0.64}


def kinetic_scale(mass_amu: float, melting_point_K: float) -> float:
    """sqrt(k_B / (m Tm)) in m/s/K: the thermal-velocity scale of a kinetic coefficient."""
    return math.sqrt(K_B / (float(mass_amu) * AMU * float(melting_point_K)))


def hard_sphere_mu(mass_amu: float, melting_point_K: float, orientation: str = "100") -> float | None:
    """The collision-limited kinetic coefficient C_hkl sqrt(k_B / (m Tm)) (m/s/K) of an fcc
    interface; None for an orientation without a published C_hkl."""
    c = HARD_SPHERE_C.get(str(orientation))
    return None if c is None else c * kinetic_scale(mass_amu, melting_point_K)


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
