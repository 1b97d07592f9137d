"""A material in LAMMPS: the instance (with the pair style's accelerated suffix), the periodic box
of atoms with the potential, seeds LAMMPS accepts, per-atom compute values and the energy check.
Slab, coexistence and nucleation runs all start here."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from msgnn.errors import SimulationError
from msgnn.md.lammps_env import Lammps, resolve_potential
from msgnn.md.settings import Material
from msgnn.md.structure import classification_commands


# the accelerated version of each pair style the wheel has (OPT for EAM, OPENMP for the rest)
ACCELERATED = {"eam": "opt", "eam/alloy": "opt", "eam/fs": "opt",
               "sw": "omp", "tersoff": "omp", "tersoff/mod": "omp", "tersoff/mod/c": "omp"}


def open_lammps(material: Material, context: str) -> Lammps:
    """A LAMMPS instance with the OPT (EAM) or OPENMP (SW, Tersoff) versions of the pair style."""
    return Lammps(ACCELERATED.get(material.pair_style), context=context)


def pair_cutoff_A(material: Material) -> float | None:
    """The interaction cutoff of the potential file, read by ASE: EAM tables (eam, eam/alloy,
    eam/fs) and Tersoff (max R + D); None for the other styles."""
    return _file_cutoff_A(material.pair_style, material.potential)


@lru_cache(maxsize=None)
def _file_cutoff_A(pair_style: str, potential: str) -> float | None:
    path = str(resolve_potential(potential))
    if pair_style == "tersoff":
        from ase.calculators.tersoff import Tersoff
        return max(p.R + p.D for p in Tersoff.from_lammps(path).parameters.values())
    if pair_style in ("eam", "eam/alloy", "eam/fs"):
        from ase.calculators.eam import EAM
        return float(EAM(potential=path, form=pair_style.split("/")[-1]).cutoff)
    return None


def classification(material: Material, a: float) -> list[str]:
    """The solid/liquid and structure computes (msgnn.md.structure) for this material at lattice constant a."""
    return classification_commands(material.lattice, a, max_cutoff_A=pair_cutoff_A(material))


def lammps_seed(seed: int) -> int:
    """A random seed in the range LAMMPS accepts (1 .. 9e8)."""
    return int(seed) % 900_000_000 + 1


def setup_potential(c: Lammps, material: Material) -> None:
    """Mass, pair style and coefficients (also re-issued after read_restart, which keeps none)."""
    potential = resolve_potential(material.potential)
    c(f"mass 1 {_mass(material):.6f}")
    c(f"pair_style {material.pair_style}")
    if material.pair_style == "eam":
        c(f"pair_coeff 1 1 {potential}")
    else:
        c(f"pair_coeff * * {potential} {material.element}")


def create_box(c: Lammps, material: Material, lattice: str, cells, *, atom_map: bool = False) -> None:
    """A periodic box of `cells` (nx, ny, nz) lattice repeats filled with atoms, from the LAMMPS
    `lattice` command given, with the material's potential and timestep; thermo output off."""
    nx, ny, nz = cells
    c("units metal"); c("atom_style atomic"); c("boundary p p p")
    if atom_map:
        c("atom_modify map array")
    c(lattice)
    c(f"region box block 0 {nx} 0 {ny} 0 {nz}")
    c("create_box 1 box"); c("create_atoms 1 box")
    setup_potential(c, material)
    c(f"timestep {material.timestep_fs / 1000:.6f}")
    c("thermo 0")


def per_atom(c: Lammps, name: str, order: np.ndarray | None = None, column: int | None = None) -> np.ndarray:
    """The local atoms' values of per-atom compute `name` (a copy), in `order` if given (LAMMPS
    sorts atoms in memory), or one `column` of an array compute."""
    from lammps import LMP_STYLE_ATOM, LMP_TYPE_ARRAY, LMP_TYPE_VECTOR
    out = c.lmp.numpy.extract_compute(name, LMP_STYLE_ATOM, LMP_TYPE_VECTOR if column is None else LMP_TYPE_ARRAY)
    if out is None:
        raise SimulationError(f"{c.context}: compute {name} returned nothing")
    out = np.array(out, copy=True)[: int(c.lmp.extract_global("nlocal"))]
    if column is not None:
        out = out[:, column]
    return out if order is None else out[order]


def check_finite(c: Lammps, what: str) -> float:
    """The potential energy now; SimulationError if it is not finite (the run blew up)."""
    pe = c.lmp.get_thermo("pe")
    if not math.isfinite(pe):
        raise SimulationError(f"{c.context}: non-finite potential energy during {what} (the run blew up)")
    return pe


def _mass(material: Material) -> float:
    if material.mass_amu is not None:
        return float(material.mass_amu)
    from pymatgen.core import Element
    return float(Element(material.element).atomic_mass)
