"""Lattice geometry and the LAMMPS computes that classify atoms as solid or liquid.

Solid/liquid: the ten Wolde–Frenkel bond-order criterion, built from LAMMPS computes:
`orientorder/atom` (q6 with its 13 complex components, over the first-shell neighbours: all
within the cutoff for fcc/bcc, the 4 nearest for diamond) and `coord/atom orientorder` (number of neighbours whose normalised
q6·q6* exceeds 0.5). An atom is solid when at least `min_bonds` of its neighbours are so
connected. Verified (tests/test_md_structure.py): perfect/thermal fcc and diamond crystals
≈ 1 solid, liquids ≈ 0. For diamond Si, q6 over the 4 tetrahedral neighbours is used (CNA does
not recognise diamond). Structure types for the metals come from `cna/atom` with a cutoff between
the first two shells at the run's own lattice constant.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

# our structure-type codes (one-hot in the atomic graphs)
STRUCTURE_TYPES = ["other", "fcc", "hcp", "bcc", "ico", "diamond"]
CNA_TO_TYPE = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 0}   # LAMMPS cna/atom: 1 fcc 2 hcp 3 bcc 4 ico 5 unknown


@dataclass(frozen=True)
class LatticeInfo:
    atoms_per_cell: int
    first_shell: float      # in units of the lattice constant
    second_shell: float
    nnn: int                # first-shell neighbour count
    q6_nnn: str             # orientorder/atom nnn: "NULL" = all neighbours within the cutoff
    min_bonds: int          # solid if at least this many q6 bonds

    def first_shell_cutoff(self, a: float) -> float:
        """A cutoff midway between the first and second neighbour shells (Å)."""
        return 0.5 * (self.first_shell + self.second_shell) * a


LATTICES = {
    # metals: q6 over all first-shell neighbours (a fixed nnn zeroes q6 of the ~10 % of atoms of
    # a hot crystal that momentarily have one neighbour fewer inside the cutoff)
    "fcc": LatticeInfo(4, math.sqrt(2) / 2, 1.0, 12, "NULL", 8),
    "bcc": LatticeInfo(2, 1.0, math.sqrt(2), 14, "NULL", 8),   # "first shell" = 8 + 6 neighbours
    # diamond: q6 of the 4 nearest neighbours (a liquid atom has 5-6 inside the cutoff)
    "diamond": LatticeInfo(8, math.sqrt(3) / 4, math.sqrt(2) / 2, 4, "4", 3),
}

# orient vectors and periodic repeat lengths (units of a) along x, y, z for each interface normal
ORIENTATIONS = {
    "100": {"orient": ("1 0 0", "0 1 0", "0 0 1"),
            "spacing": {"fcc": (1, 1, 1), "bcc": (1, 1, 1), "diamond": (1, 1, 1)}},
    "110": {"orient": ("0 0 1", "1 -1 0", "1 1 0"),
            "spacing": {"fcc": (1, math.sqrt(2), math.sqrt(2)), "bcc": (1, math.sqrt(2), math.sqrt(2)),
                        "diamond": (1, math.sqrt(2), math.sqrt(2))}},
    "111": {"orient": ("1 -1 0", "1 1 -2", "1 1 1"),
            "spacing": {"fcc": (math.sqrt(2), math.sqrt(6), math.sqrt(3)),
                        "bcc": (math.sqrt(2), math.sqrt(6), math.sqrt(3)),
                        "diamond": (math.sqrt(2), math.sqrt(6), math.sqrt(3))}},
}


def lattice_command(lattice: str, a: float, orientation: str = "100") -> str:
    o = ORIENTATIONS[orientation]
    sx, sy, sz = o["spacing"][lattice]
    ox, oy, oz = o["orient"]
    return (f"lattice {lattice} {a:.6f} orient x {ox} orient y {oy} orient z {oz} "
            f"spacing {sx:.8f} {sy:.8f} {sz:.8f}")


def classification_commands(lattice: str, a: float, group: str = "all") -> list[str]:
    """LAMMPS commands defining the per-atom computes `q6`, `bonds`, `coord`, `cna` (metals), `pe`, `ke`."""
    info = LATTICES[lattice]
    rc = info.first_shell_cutoff(a)
    cmds = [
        f"compute q6 {group} orientorder/atom degrees 1 6 nnn {info.q6_nnn} cutoff {rc:.4f} components 6",
        f"compute bonds {group} coord/atom orientorder q6 0.5",
        f"compute coord {group} coord/atom cutoff {rc:.4f}",
        f"compute pe {group} pe/atom",
        f"compute ke {group} ke/atom",
    ]
    if lattice in ("fcc", "bcc"):
        cmds.append(f"compute cna {group} cna/atom {rc:.4f}")
    return cmds


def structure_types(lattice: str, solid, cna=None):
    """Our structure-type codes from LAMMPS cna/atom (metals) or the solid flag (diamond)."""
    import numpy as np
    if lattice == "diamond" or cna is None:
        return np.where(solid, STRUCTURE_TYPES.index("diamond") if lattice == "diamond"
                        else STRUCTURE_TYPES.index(lattice), 0).astype(np.int64)
    lut = np.array([CNA_TO_TYPE[i] for i in range(6)], dtype=np.int64)
    return lut[np.clip(np.asarray(cna).astype(int), 0, 5)]
