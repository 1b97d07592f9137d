"""Lattice geometry and the LAMMPS computes that classify atoms as solid or liquid.

Solid/liquid: the ten Wolde–Frenkel bond-order criterion, built from LAMMPS computes:
`orientorder/atom` (q6 with its 13 complex components, over the first-shell neighbours: all
within the cutoff for fcc/bcc, the 4 nearest for diamond) and `coord/atom orientorder` (number of neighbours whose normalised
q6·q6* exceeds 0.5). An atom is solid when at least `min_bonds` of its neighbours are so
connected. Verified (tests/test_md_structure.py): perfect/thermal fcc and diamond crystals
≈ 1 solid, liquids ≈ 0. For diamond Si, q6 over the 4 tetrahedral neighbours is used (CNA does
not recognise diamond). Structure types for the metals (fcc, bcc, hcp) come from `cna/atom`
with a cutoff between the first two shells at the run's own lattice constant.
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
    cubic: bool = True      # False: hcp, whose repeat cell is a x sqrt(3) a x c

    def first_shell_cutoff(self, a: float) -> float:
        """A cutoff midway between the first and second neighbour shells (Å)."""
        return 0.5 * (self.first_shell + self.second_shell) * a

    def volume_per_atom(self, a: float, c_over_a: float | None = None) -> float:
        """Crystal volume per atom (Å^3) at lattice constant `a` (hcp: and c/a, ideal if None)."""
        cell = a ** 3 if self.cubic else math.sqrt(3) * (c_over_a or IDEAL_C_OVER_A) * a ** 3
        return cell / self.atoms_per_cell


IDEAL_C_OVER_A = math.sqrt(8 / 3)

LATTICES = {
    # metals: q6 over all first-shell neighbours (a fixed nnn zeroes q6 of the ~10 % of atoms of
    # a hot crystal that momentarily have one neighbour fewer inside the cutoff)
    "fcc": LatticeInfo(4, math.sqrt(2) / 2, 1.0, 12, "NULL", 8),
    "bcc": LatticeInfo(2, 1.0, math.sqrt(2), 14, "NULL", 8),   # "first shell" = 8 + 6 neighbours
    # diamond: q6 of the 4 nearest neighbours (a liquid atom has 5-6 inside the cutoff)
    "diamond": LatticeInfo(8, math.sqrt(3) / 4, math.sqrt(2) / 2, 4, "4", 3),
    # hcp: orthorhombic repeat cell a x sqrt(3) a x c of 4 atoms; 12 neighbours at a (ideal c/a),
    # the next 6 at sqrt(2) a
    "hcp": LatticeInfo(4, 1.0, math.sqrt(2), 12, "NULL", 8, cubic=False),
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


# hcp interface normals: basal (0001) along c; prismatic (10-10) along the repeat cell's sqrt(3) a edge.
# Each is a LAMMPS custom lattice whose a1, a2, a3 (units of a) put that normal along z; the
# basis is the four atoms of the repeat cell in the same axis order.
HCP_ORIENTATIONS = ("0001", "10-10")
_HCP_BASIS = ((0, 0, 0), (0.5, 0.5, 0), (0.5, 5 / 6, 0.5), (0, 1 / 3, 0.5))   # along (a, sqrt3 a, c)
_HCP_AXES = {"0001": (0, 1, 2), "10-10": (2, 0, 1)}   # which of (a, sqrt3 a, c) lies along x, y, z


def repeat_edges(lattice: str, orientation: str, c_over_a: float | None = None) -> tuple[float, float, float]:
    """Edges (units of a) along x, y, z of the periodic repeat cell with `orientation` along z."""
    if lattice == "hcp":
        if orientation not in HCP_ORIENTATIONS:
            raise ValueError(f"hcp interface orientation {orientation!r}: expected one of {HCP_ORIENTATIONS}")
        edges = (1.0, math.sqrt(3), c_over_a or IDEAL_C_OVER_A)          # along a, sqrt3 a, c
        return tuple(edges[ax] for ax in _HCP_AXES[orientation])
    if orientation not in ORIENTATIONS:
        raise ValueError(f"{lattice} interface orientation {orientation!r}: expected one of {tuple(ORIENTATIONS)}")
    return ORIENTATIONS[orientation]["spacing"][lattice]


def repeat_cells(lattice: str, orientation: str, cells, c_over_a: float | None = None) -> tuple[int, int, int]:
    """Repeats along x, y, z that make about the box of `cells` reference cells (cubic: the (100)
    cube; hcp: the basal a x sqrt(3) a x c cell), so a (111) or prismatic slab is as large as the
    (100) or basal one: 4 x 4 x 24 fcc cubes -> 3 x 2 x 14 (111) repeats."""
    ref = repeat_edges(lattice, "0001" if lattice == "hcp" else "100", c_over_a)
    edges = repeat_edges(lattice, orientation, c_over_a)
    return tuple(max(1, round(int(n) * r / e)) for n, r, e in zip(cells, ref, edges))


def _hcp_lattice_command(a: float, orientation: str, c_over_a: float | None) -> str:
    edges = repeat_edges("hcp", orientation, c_over_a)
    axes = _HCP_AXES[orientation]
    vec = " ".join(f"a{i + 1} " + " ".join(f"{edges[i]:.8f}" if j == i else "0" for j in range(3)) for i in range(3))
    basis = " ".join("basis " + " ".join(f"{b[ax]:.8f}" for ax in axes) for b in _HCP_BASIS)
    return f"lattice custom {a:.6f} {vec} {basis}"


def lattice_command(lattice: str, a: float, orientation: str = "100", c_over_a: float | None = None) -> str:
    """The LAMMPS `lattice` command of `lattice` at lattice constant `a` with the interface normal
    `orientation` along z (cubic: 100, 110, 111; hcp: 0001, 10-10, with c/a, ideal if None)."""
    if lattice == "hcp":
        return _hcp_lattice_command(a, orientation, c_over_a)
    repeat_edges(lattice, orientation)      # checks the orientation
    o = ORIENTATIONS[orientation]
    sx, sy, sz = o["spacing"][lattice]
    ox, oy, oz = o["orient"]
    return (f"lattice {lattice} {a:.6f} orient x {ox} orient y {oy} orient z {oz} "
            f"spacing {sx:.8f} {sy:.8f} {sz:.8f}")


def classification_commands(lattice: str, a: float, group: str = "all", max_cutoff_A: float | None = None) -> list[str]:
    """LAMMPS commands defining the per-atom computes `q6`, `bonds`, `coord`, `cna` (metals), `pe`, `ke`.
    The neighbour cutoff lies between the first two shells, below `max_cutoff_A` if given (LAMMPS
    computes cannot look beyond the pair style's cutoff: Tersoff Ge reaches 3.1 Å, while the
    midpoint of its first two shells lies at 3.2 Å; its 4 nearest neighbours sit at 2.45 Å)."""
    info = LATTICES[lattice]
    rc = info.first_shell_cutoff(a)
    if max_cutoff_A is not None and rc > 0.98 * max_cutoff_A:
        rc = 0.98 * max_cutoff_A
        if rc <= info.first_shell * a:
            raise ValueError(f"the pair style's cutoff {max_cutoff_A:.2f} Å does not reach the first neighbour shell "
                             f"({info.first_shell * a:.2f} Å) of {lattice} at a = {a:.3f} Å")
    cmds = [
        f"compute q6 {group} orientorder/atom degrees 1 6 nnn {info.q6_nnn} cutoff {rc:.4f} components 6",
        f"compute bonds {group} coord/atom orientorder q6 0.5",
        f"compute coord {group} coord/atom cutoff {rc:.4f}",
        f"compute pe {group} pe/atom",
        f"compute ke {group} ke/atom",
    ]
    if lattice != "diamond":
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
