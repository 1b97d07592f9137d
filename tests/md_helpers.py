"""Test helpers of the MD stage: the materials the tests use, and a check of the solid/liquid
classification on a small bulk sample (test-only; the slab runs classify their own atoms)."""
import numpy as np

from msgnn.md.settings import Material
from msgnn.md.structure import LATTICES, lattice_command
from msgnn.md.system import classification, create_box, open_lammps, per_atom

AL_CONFIG = {"element": "Al", "potential": "Al_mm.eam.fs", "pair_style": "eam/fs", "lattice": "fcc",
             "lattice_constant_A": 4.05, "reference_melting_point_K": 926, "timestep_fs": 2.0}   # config entry
AL = Material.from_dict(AL_CONFIG)
SI = Material(element="Si", potential="Si.sw", pair_style="sw", lattice="diamond",
              lattice_constant_A=5.431, reference_melting_point_K=1691, timestep_fs=1.0)
FE = Material(element="Fe", potential="Fe_mm.eam.fs", pair_style="eam/fs", lattice="bcc",
              lattice_constant_A=2.855, reference_melting_point_K=1772, timestep_fs=2.0)
MG = Material(element="Mg", potential="Mg_mm.eam.fs", pair_style="eam/fs", lattice="hcp",
              lattice_constant_A=3.21, reference_melting_point_K=914, timestep_fs=2.0)


def bulk_solid_fraction(material: Material, temperature_K: float, *, liquid: bool = False, cells: int = 3,
                        steps: int = 500, seed: int = 1, orientation: str = "100") -> dict:
    """Classify a small periodic bulk sample with the slab's own computes.

    A perfect crystal (steps = 0), a crystal thermalised at T, or (liquid=True) the same box
    disordered, melted at 1.6 Tm and brought to T. Returns solid fraction, mean coordination and
    mean q6.
    """
    a = float(material.lattice_constant_A)
    T = float(temperature_K)
    with open_lammps(material, f"{material.element} bulk at {T:g} K") as c:
        create_box(c, material, lattice_command(material.lattice, a, orientation), (cells, cells, cells))
        for cmd in classification(material, a):
            c(cmd)
        if liquid:
            t_melt = 1.6 * float(material.reference_melting_point_K)
            c(f"displace_atoms all random {0.1 * a:.4f} {0.1 * a:.4f} {0.1 * a:.4f} {seed} units box")
            c(f"velocity all create {t_melt} {seed} mom yes rot yes dist gaussian")
            c(f"fix integ all npt temp {t_melt} {t_melt} 0.1 iso 0 0 1.0")   # at crystal volume it would not melt
            c(f"run {max(steps, 200)}")
            c("unfix integ")
        if steps > 0 or liquid:
            c(f"velocity all create {T} {seed + 2} mom yes rot yes dist gaussian")
            c(f"fix lang all langevin {T} {T} 0.1 {seed + 3}")
            c("fix integ all nph iso 0 0 1.0")
            c(f"run {max(steps, 100)}")
        c("run 0")
        bonds, coord, q6 = per_atom(c, "bonds"), per_atom(c, "coord"), per_atom(c, "q6", column=0)
    return {"solid_fraction": float(np.mean(bonds >= LATTICES[material.lattice].min_bonds)),
            "mean_coordination": float(coord.mean()), "mean_q6": float(q6.mean()), "n_atoms": int(bonds.size)}
