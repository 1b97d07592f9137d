"""Join the three scales and the process data of each growth condition into multi-scale samples.

One *condition* is ``(material, temperature_K)``. For each condition we read

* ``results/graphs/atomic/{material}/T{temperature}.pt`` (one atomic + cluster graph per MD snapshot),
* ``results/microscopy/{material}/T{temperature}/facets.pt`` (one facet graph per micrograph) and
  ``measurements.json`` (nucleation density, mean grain size lambda),
* ``results/reactor/{material}/T{temperature}/kinetics.json`` (growth rate G, nucleation rate B0,
  residence time),
* ``results/md/{material}/T{temperature}/run.json`` (interface velocity),

and build ``max(n_snapshots, n_images)`` samples: sample ``i`` pairs MD snapshot ``i % n_snapshots``
with micrograph ``i % n_images``. Each sample is a :class:`torch_geometric.data.HeteroData` with

* node types ``atom`` (x: (n_a, F_a)), ``cluster`` (x: (n_c, F_c)), ``facet`` (x: (n_f, F_f));
* edge types ``(atom, bond, atom)`` (edge_attr (E, F_e)), ``(atom, in, cluster)`` (pooling edges,
  one per atom), ``(cluster, near, cluster)``, ``(facet, adj, facet)`` (edge_attr (E_f, F_fe));
* graph attributes ``cond`` (1, 5): the conditions vector ``[T/Tm, dT/Tm, log10 G_reactor [m/s],
  log10 B0_reactor [1/(m^3 s)], log10 residence_time [s]]`` with Tm the material's reference
  melting point from the config; ``y`` (1, 3): the targets (log10) ``[growth_rate [m/s],
  nucleation_density [1/m^2], lambda [m]]``; ``condition`` ("Al/T870"), ``material``,
  ``temperature_K``, ``condition_index``, ``snapshot_index``, ``image_index``, ``synthetic``.

Features are stored as read, except that facet features and facet-edge features whose name (from
``feature_names``) ends in ``_m`` or ``_m2`` are stored as log10. Standardisation uses training statistics only and happens per fold in
:mod:`msgnn.learn.train`. Splits are grouped by condition: GroupKFold (``train.folds``) and
leave-one-material-out; no condition is ever in both train and test of one split.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import GroupKFold
from torch_geometric.data import HeteroData

from msgnn.errors import InputFileError
from msgnn.io import atomic_path, read_json_object, save_torch

log = logging.getLogger(__name__)

TARGETS = ["growth_rate", "nucleation_density", "lambda"]
COND_FEATURES = ["T_over_Tm", "undercooling_over_Tm", "log10_reactor_growth_rate_m_per_s",
                 "log10_reactor_nucleation_rate_per_m3_s", "log10_residence_time_s"]


@dataclass
class ConditionInputs:
    """Paths and metadata of one growth condition."""
    material: str
    temperature_K: int
    melting_point_K: float
    atomic_graphs: str | Path
    facets: str | Path
    measurements: str | Path
    reactor: str | Path
    md_run: str | Path
    hrtem_clusters: str | Path | None = None

    @property
    def name(self) -> str:
        return f"{self.material}/T{int(self.temperature_K)}"


# ----------------------------------------------------------------------------------- reading

def _load_pt(path) -> list[dict]:
    """The dicts of a torch file (one per snapshot or image; a single dict is a list of one)."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except Exception as exc:  # noqa: BLE001 - any unreadable file is an input error
        raise InputFileError(path, f"not a readable torch file of tensors/lists/dicts: {exc}") from None
    if isinstance(obj, dict):
        obj = [obj]
    if not isinstance(obj, list) or not obj:
        raise InputFileError(path, "expected a non-empty list of dicts (one per snapshot/image)")
    for i, d in enumerate(obj):
        if not isinstance(d, dict):
            raise InputFileError(path, f"entry {i}: expected a dict, got {type(d).__name__}")
    return obj


def _tensor(path, i, d, key, *, dtype, ndim, cols=None):
    if key not in d:
        raise InputFileError(path, f"entry {i}: missing key '{key}'")
    t = torch.as_tensor(d[key]).to(dtype)
    if key.endswith("edge_attr") and t.dim() == 1:
        t = t.unsqueeze(-1)
    if t.dim() != ndim:
        raise InputFileError(path, f"entry {i}: '{key}' must have {ndim} dimensions, got shape {tuple(t.shape)}")
    if cols is not None and t.shape[0] != cols:
        raise InputFileError(path, f"entry {i}: '{key}' must have {cols} rows, got {t.shape[0]}")
    if t.is_floating_point() and not torch.isfinite(t).all():
        raise InputFileError(path, f"entry {i}: '{key}' contains NaN or inf")
    return t


def _check_index(path, i, key, ei, n_src, n_dst=None):
    n_dst = n_src if n_dst is None else n_dst
    if ei.shape[0] != 2:
        raise InputFileError(path, f"entry {i}: '{key}' must have shape (2, E), got {tuple(ei.shape)}")
    if ei.numel() and (ei.min() < 0 or ei[0].max() >= n_src or ei[1].max() >= n_dst):
        raise InputFileError(path, f"entry {i}: '{key}' indexes nodes outside [0, {n_src})")


def read_atomic_graphs(path) -> list[dict]:
    """Read and check ``results/graphs/atomic/{material}/T{temperature}.pt`` (CONTRACTS.md)."""
    out = []
    for i, d in enumerate(_load_pt(path)):
        ax = _tensor(path, i, d, "atom_x", dtype=torch.float32, ndim=2)
        n = ax.shape[0]
        if n == 0:
            raise InputFileError(path, f"entry {i}: no atoms")
        aei = _tensor(path, i, d, "atom_edge_index", dtype=torch.long, ndim=2)
        aea = _tensor(path, i, d, "atom_edge_attr", dtype=torch.float32, ndim=2, cols=aei.shape[1])
        ac = _tensor(path, i, d, "atom_cluster", dtype=torch.long, ndim=1, cols=n)
        cx = _tensor(path, i, d, "cluster_x", dtype=torch.float32, ndim=2)
        cei = _tensor(path, i, d, "cluster_edge_index", dtype=torch.long, ndim=2)
        _check_index(path, i, "atom_edge_index", aei, n)
        _check_index(path, i, "cluster_edge_index", cei, cx.shape[0])
        if ac.min() < 0 or ac.max() >= cx.shape[0]:
            raise InputFileError(path, f"entry {i}: 'atom_cluster' must lie in [0, {cx.shape[0]}) (rows of cluster_x)")
        out.append(dict(atom_x=ax, atom_edge_index=aei, atom_edge_attr=aea, atom_cluster=ac,
                        cluster_x=cx, cluster_edge_index=cei,
                        feature_names=d.get("feature_names", {})))
    return out


def add_hrtem_cluster_features(atomic: list[dict], path) -> list[dict]:
    """Append the HRTEM lattice-fringe features of each nanoscale cluster (rule microscopy_hrtem,
    ``cluster_crystallinity.pt``: one (n_clusters, F) tensor per snapshot, rows in the graph's
    cluster order) to the clusters' features."""
    d = _load_pt(path)[0]    # one dict for the whole condition
    feats = d.get("cluster_x")
    if not isinstance(feats, list) or len(feats) != len(atomic):
        n = len(feats) if isinstance(feats, list) else "no"
        raise InputFileError(path, f"'cluster_x' must hold one tensor per snapshot ({len(atomic)} atomic graphs), "
                                   f"got {n} (set microscopy.hrtem.all_frames: true)")
    out = []
    for i, (g, f) in enumerate(zip(atomic, feats)):
        f = torch.as_tensor(f, dtype=torch.float32)
        if f.ndim != 2 or f.shape[0] != g["cluster_x"].shape[0] or not torch.isfinite(f).all():
            raise InputFileError(path, f"entry {i}: expected finite ({g['cluster_x'].shape[0]}, F) cluster features "
                                       f"(the atomic graph's clusters), got shape {tuple(f.shape)}")
        names = dict(g.get("feature_names", {}))
        names["cluster_x"] = list(names.get("cluster_x", [])) + list(d.get("feature_names", []))
        out.append({**g, "cluster_x": torch.cat([g["cluster_x"], f], 1), "feature_names": names})
    return out


def read_facet_graphs(path) -> list[dict]:
    """Read and check ``results/microscopy/{material}/T{temperature}/facets.pt`` (CONTRACTS.md)."""
    out = []
    for i, d in enumerate(_load_pt(path)):
        fx = _tensor(path, i, d, "facet_x", dtype=torch.float32, ndim=2)
        if fx.shape[0] == 0:
            raise InputFileError(path, f"entry {i}: no facets")
        fei = _tensor(path, i, d, "facet_edge_index", dtype=torch.long, ndim=2)
        fea = _tensor(path, i, d, "facet_edge_attr", dtype=torch.float32, ndim=2, cols=fei.shape[1])
        _check_index(path, i, "facet_edge_index", fei, fx.shape[0])
        out.append(dict(facet_x=fx, facet_edge_index=fei, facet_edge_attr=fea,
                        feature_names=d.get("feature_names", {})))
    return out


def _positive(path, data, key, *, floor_key=None):
    """A strictly positive finite number from a JSON file (raises InputFileError otherwise)."""
    if key not in data:
        raise InputFileError(path, f"missing key '{key}'")
    try:
        v = float(data[key])
    except (TypeError, ValueError):
        why = f" ({data['note']})" if data[key] is None and "note" in data else ""
        raise InputFileError(path, f"'{key}' must be a number, got {data[key]!r}{why}") from None
    if not math.isfinite(v):
        raise InputFileError(path, f"'{key}' must be finite, got {v}")
    if v <= 0:
        raise InputFileError(path, f"'{key}' must be > 0 to take log10, got {v}")
    return v


def read_condition(ci: ConditionInputs) -> dict:
    """Everything one condition contributes: graphs, conditions vector, targets and flags."""
    atomic = read_atomic_graphs(ci.atomic_graphs)
    if ci.hrtem_clusters is not None:
        atomic = add_hrtem_cluster_features(atomic, ci.hrtem_clusters)
    facets = read_facet_graphs(ci.facets)
    meas = read_json_object(ci.measurements)
    reac = read_json_object(ci.reactor)
    run = read_json_object(ci.md_run)

    # growth rate target: the MD interface velocity. Below Tm it should be positive; a run whose
    # velocity is within noise of zero (or slightly negative) is floored at its standard error so
    # log10 stays defined, and flagged in targets.csv.
    if "velocity_m_per_s" not in run:
        raise InputFileError(ci.md_run, "missing key 'velocity_m_per_s'")
    try:
        v = float(run["velocity_m_per_s"])
        se = abs(float(run.get("stderr_m_per_s", 0.0) or 0.0))
    except (TypeError, ValueError):
        raise InputFileError(ci.md_run, "'velocity_m_per_s' and 'stderr_m_per_s' must be numbers") from None
    if not math.isfinite(v):
        raise InputFileError(ci.md_run, f"'velocity_m_per_s' must be finite, got {v}")
    floored = False
    if v <= se:
        if se <= 0:
            raise InputFileError(ci.md_run, f"'velocity_m_per_s' = {v} at a growth temperature; "
                                 "need a positive velocity (or a stderr_m_per_s to floor it at)")
        log.warning("%s: velocity %.3g m/s is within its stderr %.3g; floored at the stderr",
                    ci.md_run, v, se)
        v, floored = se, True

    nd = _positive(ci.measurements, meas, "nucleation_density_per_m2")
    lam = _positive(ci.measurements, meas, "mean_grain_size_m")
    G = _positive(ci.reactor, reac, "growth_rate_m_per_s")
    B0 = _positive(ci.reactor, reac, "nucleation_rate_per_m3_s")
    tau = _positive(ci.reactor, reac, "residence_time_s")
    T, Tm = float(ci.temperature_K), float(ci.melting_point_K)
    cond = [T / Tm, (Tm - T) / Tm, math.log10(G), math.log10(B0), math.log10(tau)]
    synthetic = bool(meas.get("synthetic", True)) or bool(reac.get("synthetic", True))
    return dict(atomic=atomic, facets=facets, cond=cond,
                y=[math.log10(v), math.log10(nd), math.log10(lam)],
                physical=dict(growth_rate_m_per_s=v, nucleation_density_per_m2=nd,
                              mean_grain_size_m=lam),
                growth_rate_floored=floored, synthetic=synthetic)


# ----------------------------------------------------------------------------------- samples

LOG_SUFFIXES = ("_m", "_m2")   # SI lengths and areas of the micrographs: learned as log10


def _names(d: dict, key: str) -> list | None:
    """The feature names of tensor `key` (feature_names is keyed by the tensor it names)."""
    names = (d.get("feature_names") or {}).get(key)
    return list(names) if isinstance(names, (list, tuple)) else None


def log_scale_columns(x: torch.Tensor, names: list | None) -> torch.Tensor:
    """log10 of the columns whose name ends in _m or _m2 (lengths, areas; zeros, e.g. the
    perimeter of a one-pixel grain, are floored at the column's smallest positive value):
    grain sizes span decades between conditions, and lambda itself is a log10 target."""
    if not names or len(names) != x.shape[1]:
        return x
    cols = [i for i, n in enumerate(names) if str(n).endswith(LOG_SUFFIXES)]
    if not cols:
        return x
    x = x.clone()
    for c in cols:
        pos = x[:, c][x[:, c] > 0]
        floor = pos.min() if pos.numel() else torch.tensor(1e-30)
        x[:, c] = torch.log10(x[:, c].clamp_min(floor))
    return x


def make_sample(atomic: dict, facet: dict, cond, y) -> HeteroData:
    """One multi-scale HeteroData from an atomic/cluster graph, a facet graph, cond and targets."""
    data = HeteroData()
    n = atomic["atom_x"].shape[0]
    data["atom"].x = atomic["atom_x"]
    data["cluster"].x = atomic["cluster_x"]
    data["facet"].x = log_scale_columns(facet["facet_x"], _names(facet, "facet_x"))
    data["atom", "bond", "atom"].edge_index = atomic["atom_edge_index"]
    data["atom", "bond", "atom"].edge_attr = atomic["atom_edge_attr"]
    data["atom", "in", "cluster"].edge_index = torch.stack([torch.arange(n), atomic["atom_cluster"]])
    data["cluster", "near", "cluster"].edge_index = atomic["cluster_edge_index"]
    data["facet", "adj", "facet"].edge_index = facet["facet_edge_index"]
    data["facet", "adj", "facet"].edge_attr = log_scale_columns(
        facet["facet_edge_attr"], _names(facet, "facet_edge_attr"))
    data.cond = torch.tensor([cond], dtype=torch.float32)
    data.y = torch.tensor([y], dtype=torch.float32)
    return data


def _feature_widths(path, items: list[dict], keys: tuple, other: tuple | None) -> tuple:
    """The feature widths of `keys` in a condition's graphs, which must agree between its entries
    and with `other`, the other conditions' widths (None for the first condition)."""
    def widths(d):
        return tuple(d[k].shape[1] for k in keys)

    first = widths(items[0])
    for i, it in enumerate(items):
        if widths(it) != first:
            raise InputFileError(path, f"entry {i}: feature widths {widths(it)} ({', '.join(keys)}) "
                                 f"differ from entry 0's {first}")
    if other is not None and other != first:
        raise InputFileError(path, f"feature widths {first} ({', '.join(keys)}) differ from the other "
                             f"conditions' {other}")
    return first


def build_samples(inputs: list[ConditionInputs]) -> tuple[list[HeteroData], pd.DataFrame]:
    """All samples of all conditions, and the per-condition targets table."""
    if not inputs:
        raise ValueError("no growth conditions given")
    samples, rows = [], []
    atomic_widths = facet_widths = None
    for ci_idx, ci in enumerate(inputs):
        c = read_condition(ci)
        atomic_widths = _feature_widths(ci.atomic_graphs, c["atomic"], ("atom_x", "atom_edge_attr", "cluster_x"),
                                        atomic_widths)
        facet_widths = _feature_widths(ci.facets, c["facets"], ("facet_x", "facet_edge_attr"), facet_widths)
        n_s, n_i = len(c["atomic"]), len(c["facets"])
        n = max(n_s, n_i)
        for k in range(n):
            s = make_sample(c["atomic"][k % n_s], c["facets"][k % n_i], c["cond"], c["y"])
            s.condition = ci.name
            s.material = ci.material
            s.temperature_K = int(ci.temperature_K)
            s.condition_index = ci_idx
            s.snapshot_index = k % n_s
            s.image_index = k % n_i
            s.synthetic = c["synthetic"]
            samples.append(s)
        rows.append(dict(condition=ci.name, material=ci.material, temperature_K=int(ci.temperature_K),
                         melting_point_K=float(ci.melting_point_K),
                         **dict(zip(TARGETS, c["y"])), **c["physical"],
                         **dict(zip(COND_FEATURES, c["cond"])),
                         n_samples=n, n_snapshots=n_s, n_images=n_i,
                         growth_rate_floored=c["growth_rate_floored"], synthetic=c["synthetic"]))
    targets = pd.DataFrame(rows)
    log.info("built %d samples from %d conditions", len(samples), len(inputs))
    return samples, targets


# ------------------------------------------------------------------------------------ splits

def make_splits(samples: list[HeteroData], folds: int, seed: int) -> dict:
    """Grouped splits by condition (GroupKFold) and leave-one-material-out, as sample indices.

    GroupKFold uses ``min(folds, n_conditions)`` folds, shuffled with ``seed``. Leave-one-material-
    out has one split per material when there are at least two materials (else it is empty).
    """
    groups = np.array([s.condition for s in samples])
    materials = np.array([s.material for s in samples])
    conds = sorted({str(g) for g in groups})
    k = min(int(folds), len(conds))
    if k < 2:
        raise ValueError(f"need at least 2 conditions for grouped splits, have {len(conds)}")
    idx = np.arange(len(samples))
    gkf = GroupKFold(n_splits=k, shuffle=True, random_state=int(seed) % (2 ** 32))

    def entry(name, tr, te):
        return {"name": name, "train": [int(i) for i in tr], "test": [int(i) for i in te],
                "train_conditions": sorted({str(g) for g in groups[tr]}),
                "test_conditions": sorted({str(g) for g in groups[te]})}

    out = {"n_samples": len(samples), "conditions": conds, "seed": int(seed),
           "group_kfold": [entry(f"fold{f}", tr, te) for f, (tr, te) in enumerate(gkf.split(idx, groups=groups))],
           "leave_one_material_out": []}
    mats = sorted({str(m) for m in materials})
    if len(mats) >= 2:
        for m in mats:
            out["leave_one_material_out"].append(entry(m, idx[materials != m], idx[materials == m]))
    for kind in ("group_kfold", "leave_one_material_out"):
        for e in out[kind]:
            assert not set(e["train_conditions"]) & set(e["test_conditions"])
    return out


def build_dataset(inputs: list[ConditionInputs], samples_path, targets_path, splits_path, *,
                  folds: int, seed: int) -> dict:
    """Read every condition, write samples.pt, targets.csv and splits.json (atomically)."""
    from msgnn.io import write_json
    samples, targets = build_samples(inputs)
    splits = make_splits(samples, folds, seed)
    splits["synthetic"] = bool(targets["synthetic"].any())
    splits["cond_features"] = COND_FEATURES
    splits["targets"] = TARGETS
    save_torch(samples, samples_path)
    with atomic_path(targets_path) as tmp:
        targets.to_csv(tmp, index=False)
    write_json(splits_path, splits)
    return splits


def load_samples(path) -> list[HeteroData]:
    """Read results/dataset/samples.pt (our own file, so full unpickling is allowed)."""
    try:
        samples = torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except Exception as exc:  # noqa: BLE001
        raise InputFileError(path, f"not a readable samples file: {exc}") from None
    if not isinstance(samples, list) or not samples or not isinstance(samples[0], HeteroData):
        raise InputFileError(path, "expected a non-empty list of HeteroData")
    return samples
