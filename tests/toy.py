"""Small synthetic inputs in the CONTRACTS.md formats, for tests and benchmarks (labelled synthetic).

The toy physics is simple but learnable: the interface velocity grows linearly with undercooling
(v = mu * dT), the nucleation density follows a classical-nucleation-like exp(-c / dT^2) law and
lambda = n^(-1/2). The atomic graphs carry the undercooling in their solid fraction, the facet
graphs carry lambda in their areas, and the reactor carries G and B0 (with noise), so the targets
are functions of the inputs.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from msgnn.learn.dataset import ConditionInputs
from msgnn.io import write_json

MATERIALS = {"Al": (926.0, 0.05, 1.0), "Cu": (1327.0, 0.03, 1.3), "Si": (1691.0, 0.01, 0.7)}


def toy_targets(material: str, temperature_K: float) -> dict:
    Tm, mu, c = MATERIALS[material]
    dT = Tm - temperature_K
    v = mu * dT                                    # m/s
    x = dT / Tm
    nd = 1e13 * math.exp(-c * 0.004 / x ** 2)      # per m^2
    return dict(velocity_m_per_s=v, nucleation_density_per_m2=nd, mean_grain_size_m=nd ** -0.5)


def _atomic_graph(rng, solid_frac: float, n_atoms: int, n_clusters: int) -> dict:
    pos = rng.uniform(0, 20, size=(n_atoms, 3))
    solid = rng.random(n_atoms) < solid_frac
    coord = np.where(solid, 12, 10) + rng.normal(0, 0.7, n_atoms)
    q6 = np.where(solid, 0.5, 0.3) + rng.normal(0, 0.05, n_atoms)
    pe = np.where(solid, -3.4, -3.3) + rng.normal(0, 0.02, n_atoms)
    atom_x = np.stack([coord, q6, pe, solid.astype(float)], 1)
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    nb = np.argsort(d, axis=1)[:, :6]
    src = np.repeat(np.arange(n_atoms), 6)
    dst = nb.reshape(-1)
    ei = np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])])
    dist = d[ei[0], ei[1]]
    cluster = np.minimum((pos[:, 2] / 20 * n_clusters).astype(int), n_clusters - 1)
    cx = np.zeros((n_clusters, 3))
    for c in range(n_clusters):
        m = cluster == c
        cx[c] = [m.sum(), solid[m].mean() if m.any() else 0.0, pe[m].mean() if m.any() else 0.0]
    cei = np.array([[c for c in range(n_clusters - 1)] + [c + 1 for c in range(n_clusters - 1)],
                    [c + 1 for c in range(n_clusters - 1)] + [c for c in range(n_clusters - 1)]])
    return dict(atom_x=torch.tensor(atom_x, dtype=torch.float32),
                atom_edge_index=torch.tensor(ei, dtype=torch.long),
                atom_edge_attr=torch.tensor(np.stack([dist, 1 / dist], 1), dtype=torch.float32),
                atom_cluster=torch.tensor(cluster, dtype=torch.long),
                cluster_x=torch.tensor(cx, dtype=torch.float32),
                cluster_edge_index=torch.tensor(cei, dtype=torch.long),
                feature_names={"atom_x": ["coordination", "q6", "pe_eV", "solid"],
                               "atom_edge_attr": ["distance_A", "inv_distance_per_A"],
                               "cluster_x": ["n_atoms", "solid_fraction", "mean_pe_eV"]})


def _facet_graph(rng, lam: float, n_facets: int) -> dict:
    area = (lam ** 2) * rng.lognormal(0, 0.3, n_facets)
    fx = np.stack([area, rng.uniform(0, np.pi, n_facets), rng.uniform(0.5, 1, n_facets)], 1)
    src = np.arange(n_facets)
    dst = (src + 1) % n_facets
    ei = np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])])
    ea = np.sqrt(np.minimum(area[ei[0]], area[ei[1]]))[:, None]
    return dict(facet_x=torch.tensor(fx, dtype=torch.float32),
                facet_edge_index=torch.tensor(ei, dtype=torch.long),
                facet_edge_attr=torch.tensor(ea, dtype=torch.float32),
                feature_names={"facet_x": ["area_m2", "orientation_rad", "solidity"],
                               "facet_edge_attr": ["boundary_length_m"]})


def write_toy_condition(root: str | Path, material: str, temperature_K: int, *, n_snapshots: int = 3,
                        n_images: int = 2, n_atoms: int = 60, n_facets: int = 12,
                        seed: int = 0) -> ConditionInputs:
    """Write one toy condition's five input files under ``root`` with the workflow's paths."""
    root = Path(root)
    Tm = MATERIALS[material][0]
    t = toy_targets(material, temperature_K)
    rng = np.random.default_rng([seed, int(temperature_K), sum(map(ord, material))])
    undercool = (Tm - temperature_K) / Tm
    graphs = [_atomic_graph(rng, min(0.95, 0.3 + 3 * undercool), n_atoms, 4) for _ in range(n_snapshots)]
    facets = [_facet_graph(rng, t["mean_grain_size_m"], n_facets) for _ in range(n_images)]
    p = dict(atomic_graphs=root / f"results/graphs/atomic/{material}/T{temperature_K}.pt",
             facets=root / f"results/microscopy/{material}/T{temperature_K}/facets.pt",
             measurements=root / f"results/microscopy/{material}/T{temperature_K}/measurements.json",
             reactor=root / f"results/reactor/{material}/T{temperature_K}/kinetics.json",
             md_run=root / f"results/md/{material}/T{temperature_K}/run.json")
    for q in p.values():
        q.parent.mkdir(parents=True, exist_ok=True)
    torch.save(graphs, p["atomic_graphs"])
    torch.save(facets, p["facets"])
    write_json(p["measurements"], dict(material=material, temperature_K=temperature_K, synthetic=True,
                                       pixel_size_m=1e-8, n_grains=100,
                                       nucleation_density_per_m2=t["nucleation_density_per_m2"],
                                       mean_grain_size_m=t["mean_grain_size_m"]))
    write_json(p["reactor"], dict(growth_rate_m_per_s=t["velocity_m_per_s"] * 1e-9 * rng.lognormal(0, 0.03),
                                  growth_rate_ci95=[0, 1], residence_time_s=1800.0,
                                  nucleation_rate_per_m3_s=1e6 * t["nucleation_density_per_m2"] * rng.lognormal(0, 0.05),
                                  nucleation_rate_ci95=[0, 1], dominant_size_m=1e-4, synthetic=True,
                                  n_rows_raw=10, n_rows_clean=10))
    write_json(p["md_run"], dict(material=material, element=material, temperature_K=temperature_K,
                                 velocity_m_per_s=t["velocity_m_per_s"] * rng.normal(1, 0.02),
                                 stderr_m_per_s=0.02 * t["velocity_m_per_s"]))
    return ConditionInputs(material=material, temperature_K=temperature_K, melting_point_K=Tm, **p)


def toy_inputs(root, temperatures: dict | None = None, **kw) -> list[ConditionInputs]:
    """Toy inputs for several conditions; default 3 materials x 4 undercoolings."""
    if temperatures is None:
        temperatures = {m: [int(Tm * f) for f in (0.84, 0.88, 0.92, 0.96)]
                        for m, (Tm, _, _) in MATERIALS.items()}
    return [write_toy_condition(root, m, t, **kw) for m, ts in temperatures.items() for t in ts]
