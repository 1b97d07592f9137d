"""Atomic (rho = 1) and nanoscale-cluster (rho = 10) graphs of the solid–liquid interface.

From each MD snapshot (snapshots.npz, see docs/CONTRACTS.md):

* nodes: atoms within `interface_width_A` of either interface, with element data from pymatgen
  (Z, electronegativity, atomic radius, mass), a one-hot structure type, solid flag,
  coordination, per-atom energy, q6 and the signed distance to the nearest interface
  (positive on the liquid side);
* edges: periodic neighbours (vesin full neighbour list, both directions) within the first-shell
  cutoff of the lattice (midway between the first and second neighbour shells), edge feature the
  distance in Å;
* clusters: the selected atoms binned into blocks of ~`cluster_size_A` (periodic in x, y; in z
  along the signed interface distance, per interface), with features (n atoms, solid fraction,
  mean pe, mean q6, mean z offset); cluster edges join face-adjacent blocks.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from vesin import NeighborList

from msgnn.graphs.settings import GraphSettings
from msgnn.io import save_torch
from msgnn.md.snapshots import frame, read_snapshots
from msgnn.md.structure import LATTICES, STRUCTURE_TYPES

ELEMENT_FEATURES = ["atomic_number", "electronegativity", "atomic_radius_A", "atomic_mass_amu"]
ATOM_FEATURES = (ELEMENT_FEATURES + [f"structure_{s}" for s in STRUCTURE_TYPES]
                 + ["solid", "coordination", "pe_eV", "q6", "z_offset_A"])
EDGE_FEATURES = ["distance_A"]
CLUSTER_FEATURES = ["n_atoms", "solid_fraction", "mean_pe_eV", "mean_q6", "mean_z_offset_A"]
CLUSTER_EDGE_FEATURES = ["centre_distance_A"]


@lru_cache(maxsize=None)
def element_features(symbol: str) -> tuple[float, ...]:
    from pymatgen.core import Element
    el = Element(symbol)
    return (float(el.Z), float(el.X), float(el.atomic_radius), float(el.atomic_mass))


def neighbour_edges(positions_A: np.ndarray, cell_A: np.ndarray, cutoff_A: float):
    """Full periodic neighbour list (i, j, distance) within `cutoff_A`, from vesin."""
    nl = NeighborList(cutoff=float(cutoff_A), full_list=True)
    i, j, d = nl.compute(points=np.ascontiguousarray(positions_A, dtype=np.float64),
                         box=np.ascontiguousarray(cell_A, dtype=np.float64), periodic=True, quantities="ijd")
    return i.astype(np.int64), j.astype(np.int64), d


def first_shell_cutoff(lattice: str, cell_A: np.ndarray, n_atoms: int) -> float:
    """Cutoff between the first two neighbour shells, from the lattice and the mean density."""
    info = LATTICES[lattice]
    volume = abs(float(np.linalg.det(cell_A)))
    a = (info.atoms_per_cell * volume / n_atoms) ** (1 / 3)
    return info.first_shell_cutoff(a)


def signed_interface_offset(z_A: np.ndarray, interface_z_A, Lz_A: float):
    """(nearest interface index, signed distance to it; positive on the liquid side).

    Interface 0 is the lower face of the solid slab (liquid below it), interface 1 the upper.
    """
    zl, zh = float(interface_z_A[0]), float(interface_z_A[1])
    wrap = lambda d: (d + 0.5 * Lz_A) % Lz_A - 0.5 * Lz_A  # noqa: E731
    d0 = -wrap(z_A - zl)
    d1 = wrap(z_A - zh)
    which = (np.abs(d1) < np.abs(d0)).astype(np.int64)
    return which, np.where(which == 1, d1, d0)


class InterfaceClusters(NamedTuple):
    """The interface atoms of one snapshot and the nanoscale clusters they pool into."""
    positions_A: np.ndarray       # (N, 3) all atoms, origin subtracted
    atom_index: np.ndarray        # (n,) the selected atoms (within interface_width_A of an interface)
    offset_A: np.ndarray          # (n,) their signed distance to the nearest interface
    atom_cluster: np.ndarray      # (n,) their cluster
    n_clusters: int
    edge_index: np.ndarray        # (2, Ec) face-adjacent clusters, both directions
    edge_distance_A: np.ndarray   # (Ec,) block size along the shared axis


def interface_clusters(positions_A, cell_A, interface_z_A, settings: GraphSettings,
                       origin_A=None) -> InterfaceClusters:
    """Select the atoms within `settings.interface_width_A` of either interface and bin them into
    blocks of ~`settings.cluster_size_A` (periodic in x, y; in z along the signed interface
    distance, per interface). The cluster order is that of the graph's `cluster_x` rows."""
    pos = np.asarray(positions_A, float)
    cell = np.asarray(cell_A, float)
    zi = np.asarray(interface_z_A, float)
    if origin_A is not None:
        pos = pos - np.asarray(origin_A, float)[None, :]
        zi = zi - float(origin_A[2])
    which, offset = signed_interface_offset(pos[:, 2], zi, cell[2, 2])
    sel = np.nonzero(np.abs(offset) <= settings.interface_width_A)[0]
    atom_cluster, n, edges, dist = _clusters(pos[sel, :2], which[sel], offset[sel], cell,
                                             settings.interface_width_A, settings.cluster_size_A)
    return InterfaceClusters(pos, sel, offset[sel], atom_cluster, n, edges, dist)


def _clusters(xy: np.ndarray, which: np.ndarray, offset: np.ndarray, cell_A: np.ndarray,
              width: float, size: float):
    Lx, Ly = cell_A[0, 0], cell_A[1, 1]
    nx, ny = max(1, int(round(Lx / size))), max(1, int(round(Ly / size)))
    nz = max(1, int(round(2 * width / size)))
    ix = np.floor((xy[:, 0] % Lx) / Lx * nx).astype(np.int64) % nx
    iy = np.floor((xy[:, 1] % Ly) / Ly * ny).astype(np.int64) % ny
    iz = np.clip(np.floor((offset + width) / (2 * width) * nz).astype(np.int64), 0, nz - 1)
    keys = np.stack([which, ix, iy, iz], axis=1)
    uniq, atom_cluster = np.unique(keys, axis=0, return_inverse=True)
    atom_cluster = atom_cluster.reshape(-1)
    index = {tuple(k): n for n, k in enumerate(map(tuple, uniq))}
    src, dst, dist = [], [], []
    block = np.array([Lx / nx, Ly / ny, 2 * width / nz])
    for n, (b, x, y, z) in enumerate(uniq):
        nbrs = {(b, (x + 1) % nx, y, z), (b, (x - 1) % nx, y, z), (b, x, (y + 1) % ny, z),
                (b, x, (y - 1) % ny, z), (b, x, y, z + 1), (b, x, y, z - 1)}
        for key in nbrs:
            m = index.get(key)
            if m is not None and m != n:
                src.append(n); dst.append(m)
                axis = 0 if key[1] != x else (1 if key[2] != y else 2)
                dist.append(block[axis])
    return atom_cluster, len(uniq), np.array([src, dst], dtype=np.int64).reshape(2, -1), np.array(dist)


def snapshot_graph(frame: dict, lattice: str, settings: GraphSettings) -> dict:
    """The atomic + cluster graph of one snapshot (dict of tensors, CONTRACTS.md).

    frame: one frame of snapshots.npz (msgnn.md.snapshots.frame): positions_A (N, 3), cell_A
    (3, 3), interface_z_A (2,), per-atom structure_type, solid, coordination, pe_eV, q6 (N,),
    element, optional origin_A (3,) and time_ps."""
    c = interface_clusters(frame["positions_A"], frame["cell_A"], frame["interface_z_A"], settings,
                           frame.get("origin_A"))
    sel, cell = c.atom_index, np.asarray(frame["cell_A"], float)
    n_all = c.positions_A.shape[0]
    cutoff = first_shell_cutoff(lattice, cell, n_all)
    i, j, d = neighbour_edges(c.positions_A, cell, cutoff)
    local = -np.ones(n_all, dtype=np.int64)
    local[sel] = np.arange(sel.size)
    keep = (local[i] >= 0) & (local[j] >= 0)
    edge_index = np.stack([local[i[keep]], local[j[keep]]])
    onehot = np.zeros((sel.size, len(STRUCTURE_TYPES)), np.float32)
    st = np.asarray(frame["structure_type"])[sel]
    onehot[np.arange(sel.size), np.clip(st, 0, len(STRUCTURE_TYPES) - 1)] = 1.0
    elem = np.tile(np.array(element_features(frame["element"]), np.float32), (sel.size, 1))
    solid, pe, q6 = (np.asarray(frame[k])[sel] for k in ("solid", "pe_eV", "q6"))
    atom_x = np.column_stack([elem, onehot, solid.astype(np.float32),
                              np.asarray(frame["coordination"], np.float32)[sel], pe.astype(np.float32),
                              q6.astype(np.float32), c.offset_A.astype(np.float32)])
    counts = np.bincount(c.atom_cluster, minlength=c.n_clusters).astype(np.float64)

    def cmean(values):
        return (np.bincount(c.atom_cluster, weights=np.asarray(values, float), minlength=c.n_clusters)
                / np.maximum(counts, 1))

    cluster_x = (np.column_stack([counts, cmean(solid.astype(float)), cmean(pe), cmean(q6), cmean(c.offset_A)])
                 if sel.size else np.zeros((0, 5)))
    out = {
        "atom_x": torch.from_numpy(atom_x.astype(np.float32)).reshape(-1, len(ATOM_FEATURES)),
        "atom_edge_index": torch.from_numpy(edge_index.astype(np.int64)).reshape(2, -1),
        "atom_edge_attr": torch.from_numpy(d[keep].astype(np.float32)).reshape(-1, 1),
        "atom_cluster": torch.from_numpy(c.atom_cluster.astype(np.int64)),
        "cluster_x": torch.from_numpy(cluster_x.astype(np.float32)).reshape(-1, len(CLUSTER_FEATURES)),
        "cluster_edge_index": torch.from_numpy(c.edge_index),
        "cluster_edge_attr": torch.from_numpy(c.edge_distance_A.astype(np.float32)).reshape(-1, 1),
        "atom_index": torch.from_numpy(sel.astype(np.int64)),
        "edge_cutoff_A": torch.tensor(cutoff, dtype=torch.float32),
        "feature_names": {"atom_x": list(ATOM_FEATURES), "atom_edge_attr": list(EDGE_FEATURES),
                          "cluster_x": list(CLUSTER_FEATURES), "cluster_edge_attr": list(CLUSTER_EDGE_FEATURES)},
    }
    if frame.get("time_ps") is not None:
        out["time_ps"] = torch.tensor(float(frame["time_ps"]), dtype=torch.float32)
    return out


def build_atomic_graphs(snapshots_path: str | Path, settings: GraphSettings, lattice: str | None = None) -> list[dict]:
    """One graph dict per snapshot of `snapshots_path` (lattice: the file's, else fcc)."""
    s = read_snapshots(snapshots_path)
    lattice = lattice or str(s.get("lattice", "fcc"))
    return [snapshot_graph(frame(s, f), lattice, settings) for f in range(s["solid"].shape[0])]


def write_atomic_graphs(snapshots_path, out_path, settings: GraphSettings, lattice: str | None = None) -> list[dict]:
    graphs = build_atomic_graphs(snapshots_path, settings, lattice)
    save_torch(graphs, out_path)
    return graphs
