"""Atomic and cluster graphs: periodic first-shell coordination, interface selection, clusters."""
import numpy as np
import pytest
import torch

from msgnn.errors import InputFileError
from msgnn.graphs.atomic import (ATOM_FEATURES, CLUSTER_FEATURES, build_atomic_graphs, neighbour_edges,
                                 signed_interface_offset, snapshot_graph)
from msgnn.graphs.settings import GraphSettings
from msgnn.md.structure import STRUCTURE_TYPES

BASIS = {
    "fcc": np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]),
    "diamond": np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5],
                         [0.25, 0.25, 0.25], [0.75, 0.75, 0.25], [0.75, 0.25, 0.75], [0.25, 0.75, 0.75]]),
}


def crystal(lattice, a, n):
    cells = np.array([[i, j, k] for i in range(n[0]) for j in range(n[1]) for k in range(n[2])], float)
    pos = ((cells[:, None, :] + BASIS[lattice][None]) * a).reshape(-1, 3)
    return pos, np.diag(np.array(n, float) * a)


def graph_of(lattice, a, n, element, width=1e3, solid_hi=None):
    pos, cell = crystal(lattice, a, n)
    N = len(pos)
    Lz = cell[2, 2]
    zi = [0.25 * Lz, 0.75 * Lz]
    solid = np.ones(N, bool) if solid_hi is None else (pos[:, 2] > zi[0]) & (pos[:, 2] < zi[1])
    st = np.full(N, STRUCTURE_TYPES.index(lattice))
    frame = {"positions_A": pos, "cell_A": cell, "interface_z_A": zi, "element": element, "structure_type": st,
             "solid": solid, "coordination": np.full(N, 12), "pe_eV": np.full(N, -3.0), "q6": np.full(N, 0.5)}
    return pos, cell, snapshot_graph(frame, lattice, GraphSettings(interface_width_A=width, cluster_size_A=10.0))


@pytest.mark.parametrize("lattice,a,element,z", [("fcc", 4.05, "Al", 12), ("diamond", 5.431, "Si", 4)])
def test_periodic_first_shell_coordination(lattice, a, element, z):
    pos, cell, g = graph_of(lattice, a, (3, 3, 3), element)
    n = g["atom_x"].shape[0]
    assert n == len(pos)
    deg = torch.bincount(g["atom_edge_index"][0], minlength=n)
    assert torch.all(deg == z)                       # every atom, including those at the box faces
    nn = a * (np.sqrt(2) / 2 if lattice == "fcc" else np.sqrt(3) / 4)
    assert torch.allclose(g["atom_edge_attr"][:, 0], torch.tensor(nn, dtype=torch.float32), atol=1e-4)
    # full list: every edge appears in both directions
    e = set(map(tuple, g["atom_edge_index"].T.tolist()))
    assert all((j, i) in e for i, j in e)


def test_vesin_neighbour_list_matches_brute_force_on_a_disordered_box():
    rng = np.random.default_rng(0)
    cell = np.diag([11.0, 12.0, 13.0])
    pos = rng.uniform(0, 1, (120, 3)) * np.diag(cell)
    i, j, d = neighbour_edges(pos, cell, 3.3)
    diff = pos[:, None, :] - pos[None, :, :]
    diff -= np.round(diff / np.diag(cell)) * np.diag(cell)
    dist = np.linalg.norm(diff, axis=-1)
    ref = {(a, b) for a, b in zip(*np.nonzero((dist < 3.3) & (dist > 0)))}
    assert set(zip(i.tolist(), j.tolist())) == ref
    assert np.allclose(d, dist[i, j])


def test_interface_selection_offsets_and_clusters():
    pos, cell, g = graph_of("fcc", 4.05, (4, 4, 12), "Al", width=6.0, solid_hi=True)
    Lz = cell[2, 2]
    which, off = signed_interface_offset(pos[:, 2], [0.25 * Lz, 0.75 * Lz], Lz)
    sel = np.abs(off) <= 6.0
    assert g["atom_x"].shape == (sel.sum(), len(ATOM_FEATURES))
    names = g["feature_names"]["atom_x"]
    x = g["atom_x"].numpy()
    # liquid side has positive offset, solid side negative
    solid_col, off_col = x[:, names.index("solid")], x[:, names.index("z_offset_A")]
    assert np.all(off_col[solid_col == 1] < 0) and np.all(off_col[solid_col == 0] >= 0)
    assert x[:, names.index("atomic_number")][0] == 13
    assert np.all(x[:, names.index("structure_fcc")] == 1)
    # clusters: every selected atom in exactly one cluster, counts add up, solid fractions right
    c = g["cluster_x"].numpy()
    assert c.shape[1] == len(CLUSTER_FEATURES)
    assert g["atom_cluster"].max().item() == c.shape[0] - 1
    assert c[:, 0].sum() == sel.sum()
    for k in range(c.shape[0]):
        members = (g["atom_cluster"] == k).numpy()
        assert c[k, 1] == pytest.approx(solid_col[members].mean())
        assert c[k, 4] == pytest.approx(off_col[members].mean(), abs=1e-4)
    ce = g["cluster_edge_index"]
    assert ce.shape[0] == 2 and ce.shape[1] > 0
    assert set(map(tuple, ce.T.tolist())) == {(j, i) for i, j in ce.T.tolist()}
    assert torch.all(ce[0] != ce[1])


def test_snapshot_file_round_trip_and_bad_file(tmp_path):
    pos, cell = crystal("fcc", 4.05, (3, 3, 8))
    N = len(pos)
    F = 2
    snap = {"positions_A": np.stack([pos] * F), "cell_A": np.stack([cell] * F), "time_ps": np.arange(F, dtype=float),
            "structure_type": np.ones((F, N), int), "solid": np.ones((F, N), bool), "pe_eV": -3.3 * np.ones((F, N)),
            "coordination": 12 * np.ones((F, N), int), "q6": 0.57 * np.ones((F, N)), "element": np.array("Al"),
            "interface_z_A": np.tile([8.0, 24.0], (F, 1)), "lattice": np.array("fcc")}
    p = tmp_path / "snapshots.npz"
    np.savez(p, **snap)
    graphs = build_atomic_graphs(p, GraphSettings(interface_width_A=5.0, cluster_size_A=6.0))
    assert len(graphs) == F
    assert graphs[0]["atom_edge_index"].dtype == torch.long
    del snap["q6"]
    bad = tmp_path / "bad.npz"
    np.savez(bad, **snap)
    with pytest.raises(InputFileError, match="q6"):
        build_atomic_graphs(bad, GraphSettings(interface_width_A=5.0, cluster_size_A=6.0))
    np.savez(bad, **{**snap, "q6": np.ones((F, N)), "pe_eV": np.ones((F, N - 1))})
    with pytest.raises(InputFileError, match=r"pe_eV has shape \(2, 287\), expected \(2, 288\)"):
        build_atomic_graphs(bad, GraphSettings(interface_width_A=5.0, cluster_size_A=6.0))
