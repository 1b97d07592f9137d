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

import numpy as np
import torch
from vesin import NeighborList

from msgnn.errors import InputFileError
from msgnn.md.structure import LATTICES, STRUCTURE_TYPES

SNAPSHOT_KEYS = ("positions_A", "cell_A", "time_ps", "structure_type", "solid", "pe_eV",
                 "coordination", "q6", "element", "interface_z_A")
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


def snapshot_graph(positions_A, cell_A, interface_z_A, element: str, lattice: str, structure_type, solid,
                   coordination, pe_eV, q6, *, interface_width_A: float, cluster_size_A: float,
                   origin_A=None, time_ps: float | None = None) -> dict:
    """The atomic + cluster graph of one snapshot (dict of tensors, CONTRACTS.md)."""
    pos = np.asarray(positions_A, float)
    cell = np.asarray(cell_A, float)
    if origin_A is not None:
        pos = pos - np.asarray(origin_A, float)[None, :]
    n_all = pos.shape[0]
    Lz = cell[2, 2]
    which, offset = signed_interface_offset(pos[:, 2], np.asarray(interface_z_A, float)
                                            - (0 if origin_A is None else float(origin_A[2])), Lz)
    sel = np.nonzero(np.abs(offset) <= interface_width_A)[0]
    cutoff = first_shell_cutoff(lattice, cell, n_all)
    i, j, d = neighbour_edges(pos, cell, cutoff)
    local = -np.ones(n_all, dtype=np.int64)
    local[sel] = np.arange(sel.size)
    keep = (local[i] >= 0) & (local[j] >= 0)
    edge_index = np.stack([local[i[keep]], local[j[keep]]])
    onehot = np.zeros((sel.size, len(STRUCTURE_TYPES)), np.float32)
    st = np.asarray(structure_type)[sel]
    onehot[np.arange(sel.size), np.clip(st, 0, len(STRUCTURE_TYPES) - 1)] = 1.0
    elem = np.tile(np.array(element_features(element), np.float32), (sel.size, 1))
    atom_x = np.column_stack([elem, onehot, np.asarray(solid, np.float32)[sel],
                              np.asarray(coordination, np.float32)[sel], np.asarray(pe_eV, np.float32)[sel],
                              np.asarray(q6, np.float32)[sel], offset[sel].astype(np.float32)])
    atom_cluster, n_clusters, cedge, cdist = _clusters(pos[sel, :2], which[sel], offset[sel], cell,
                                                       interface_width_A, cluster_size_A)
    counts = np.bincount(atom_cluster, minlength=n_clusters).astype(np.float64)

    def cmean(values):
        return np.bincount(atom_cluster, weights=np.asarray(values, float), minlength=n_clusters) / np.maximum(counts, 1)

    cluster_x = np.column_stack([counts, cmean(np.asarray(solid, float)[sel]), cmean(np.asarray(pe_eV)[sel]),
                                 cmean(np.asarray(q6)[sel]), cmean(offset[sel])]) if sel.size else np.zeros((0, 5))
    out = {
        "atom_x": torch.from_numpy(atom_x.astype(np.float32)).reshape(-1, len(ATOM_FEATURES)),
        "atom_edge_index": torch.from_numpy(edge_index.astype(np.int64)).reshape(2, -1),
        "atom_edge_attr": torch.from_numpy(d[keep].astype(np.float32)).reshape(-1, 1),
        "atom_cluster": torch.from_numpy(atom_cluster.astype(np.int64)),
        "cluster_x": torch.from_numpy(cluster_x.astype(np.float32)).reshape(-1, len(CLUSTER_FEATURES)),
        "cluster_edge_index": torch.from_numpy(cedge),
        "cluster_edge_attr": torch.from_numpy(cdist.astype(np.float32)).reshape(-1, 1),
        "atom_index": torch.from_numpy(sel.astype(np.int64)),
        "edge_cutoff_A": torch.tensor(cutoff, dtype=torch.float32),
        "feature_names": {"atom_x": list(ATOM_FEATURES), "atom_edge_attr": list(EDGE_FEATURES),
                          "cluster_x": list(CLUSTER_FEATURES), "cluster_edge_attr": list(CLUSTER_EDGE_FEATURES)},
    }
    if time_ps is not None:
        out["time_ps"] = torch.tensor(float(time_ps), dtype=torch.float32)
    return out


def load_snapshots(path: str | Path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputFileError(path, f"not a readable snapshots .npz ({exc})") from None
    missing = [k for k in SNAPSHOT_KEYS if k not in data]
    if missing:
        raise InputFileError(path, f"snapshots lack key(s) {missing}")
    F, N = data["solid"].shape
    if data["positions_A"].shape != (F, N, 3) or data["cell_A"].shape != (F, 3, 3):
        raise InputFileError(path, f"positions_A {data['positions_A'].shape} / cell_A {data['cell_A'].shape} "
                                   f"do not match solid {(F, N)}: expected (F,N,3) and (F,3,3)")
    if not np.all(np.isfinite(data["positions_A"])):
        raise InputFileError(path, "positions_A contains non-finite values")
    return data


def build_atomic_graphs(snapshots_path: str | Path, *, interface_width_A: float, cluster_size_A: float,
                        lattice: str | None = None) -> list[dict]:
    """One graph dict per snapshot of `snapshots_path`."""
    s = load_snapshots(snapshots_path)
    lattice = lattice or str(s.get("lattice", "fcc"))
    element = str(s["element"])
    graphs = []
    for f in range(s["solid"].shape[0]):
        graphs.append(snapshot_graph(
            s["positions_A"][f], s["cell_A"][f], s["interface_z_A"][f], element, lattice,
            s["structure_type"][f], s["solid"][f], s["coordination"][f], s["pe_eV"][f], s["q6"][f],
            interface_width_A=interface_width_A, cluster_size_A=cluster_size_A,
            origin_A=s["origin_A"][f] if "origin_A" in s else None, time_ps=float(s["time_ps"][f])))
    return graphs


def write_atomic_graphs(snapshots_path, out_path, *, interface_width_A: float, cluster_size_A: float,
                        lattice: str | None = None) -> list[dict]:
    from msgnn.io import save_torch
    graphs = build_atomic_graphs(snapshots_path, interface_width_A=interface_width_A,
                                 cluster_size_A=cluster_size_A, lattice=lattice)
    save_torch(graphs, out_path)
    return graphs
