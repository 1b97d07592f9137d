"""The MS-GNN on the growth task (msgnn.learn.growth, evaluated by msgnn.learn.lomo as model "msgnn").

Each (material, orientation) has the atomic + cluster graphs of its stationary interface at Tm,
one per snapshot (msgnn.graphs.atomic); the facet level is empty (a micrograph is made after
growth, so the growth head may not read one). The MS-GNN embeds each interface once
(:meth:`MSGNN.embed`), and every row (one temperature) reads its interface's embedding together
with its scalar inputs (:meth:`MSGNN.readout`). Like the other learned models it fits y = v / u
with weights u^2 (u: the collision-limited scale) and predicts v = y u. Each epoch sees one
randomly chosen snapshot per interface (the snapshots are views of one equilibrium interface,
always on the same side of a split); predictions average over all snapshots.

Augmentation (model "msgnn_windows" of msgnn.learn.lomo): lateral windows of each snapshot as
extra training views, grouped with their interface like the snapshots, so no view crosses a
split. A window keeps the atoms of a random periodic patch of WINDOW_AREA of the interface
plane; their per-atom features are those of the whole snapshot (computed by LAMMPS in the full
system), only bonds to atoms outside the patch are lost. Rotations and mirror images of an
interface are no extra views here: every node and edge feature is invariant under them (q6,
energies, coordination, distances), so they would give the same graph. Predictions use the full
snapshots only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch_geometric.data import Batch

from msgnn.learn.dataset import make_sample
from msgnn.learn.model.msgnn import MSGNN
from msgnn.learn.train import resolve_device, seed_everything

NODE_FIELDS = (("atom", "x"), ("cluster", "x"), (("atom", "bond", "atom"), "edge_attr"))


WINDOWS_PER_SNAPSHOT = 4
WINDOW_AREA = 0.5           # fraction of the interface plane a window keeps


def lateral_window(fr: dict, corner: tuple[float, float], area: float = WINDOW_AREA) -> dict:
    """The atoms of `fr` (one snapshot frame) inside the periodic patch of `area` of the x-y plane
    whose lower corner is at fractional coordinates `corner`; the cell is kept."""
    cell = np.asarray(fr["cell_A"], float)
    frac = (np.asarray(fr["positions_A"], float) - np.asarray(fr.get("origin_A", np.zeros(3)), float)) \
        @ np.linalg.inv(cell)
    side = np.sqrt(area)
    keep = np.all(np.mod(frac[:, :2] - np.asarray(corner), 1.0) < side, axis=1)
    n = len(keep)
    return {k: (v[keep] if isinstance(v, np.ndarray) and v.shape[:1] == (n,) else v) for k, v in fr.items()}


def interface_graphs(library_dir, materials_orientations, settings, windows: int = 0, seed: int = 0) -> dict:
    """(material, orientation) -> [HeteroData per snapshot, then `windows` lateral windows per
    snapshot] with an empty facet level; each graph's `view_kind` is "snapshot" or "window", and
    its atoms' `next_solid` their solid flag one snapshot later (NaN for the last snapshot and for
    windows): the labels of the propensity task (GrowthGNN with params["propensity"])."""
    from pathlib import Path

    from msgnn.graphs.atomic import snapshot_graph
    from msgnn.md.snapshots import frame, read_snapshots

    empty_facets = {"facet_x": torch.zeros(0, 1), "facet_edge_index": torch.zeros(2, 0, dtype=torch.long),
                    "facet_edge_attr": torch.zeros(0, 1)}
    rng = np.random.default_rng(seed)

    def graph(fr, lattice, view, next_solid=None):
        atomic = snapshot_graph(fr, lattice, settings)
        g = make_sample(atomic, empty_facets, [], [])
        g.view_kind = view
        # each atom's solid flag in the next snapshot (NaN where there is none): the propensity labels
        g["atom"].next_solid = (torch.full((g["atom"].x.shape[0],), float("nan")) if next_solid is None else
                                torch.as_tensor(np.asarray(next_solid)[atomic["atom_index"].numpy()], dtype=torch.float32))
        return g

    out = {}
    for material, orientation in materials_orientations:
        s = read_snapshots(Path(library_dir) / "interfaces" / f"{material}_{orientation}.npz")
        frames = [frame(s, f) for f in range(s["solid"].shape[0])]
        lattice = str(s["lattice"])
        out[(material, orientation)] = (
            [graph(fr, lattice, "snapshot", s["solid"][f + 1] if f + 1 < len(frames) else None)
             for f, fr in enumerate(frames)]
            + [graph(lateral_window(fr, tuple(rng.random(2))), lattice, "window") for fr in frames for _ in range(windows)])
    return out


# the parameters of an untuned fit (msgnn.learn.lomo.DEFAULTS): the middle of search_space
DEFAULTS = {"hidden": 32, "layers_per_scale": 2, "attention_dim": 16, "lr": 3e-3, "weight_decay": 1e-4}


def search_space(trial) -> dict:
    return {"hidden": trial.suggest_int("hidden", 16, 64, log=True),
            "layers_per_scale": trial.suggest_int("layers_per_scale", 1, 4),
            "attention_dim": trial.suggest_int("attention_dim", 8, 32, log=True),
            "lr": trial.suggest_float("lr", 3e-4, 1e-2, log=True),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True)}


class GNNRegressor:
    """What every fit/predict wrapper of the MS-GNN shares (GrowthGNN here; the macroscale
    forecast's msgnn.learn.forecast_gnn.ForecastGNN): node and edge features standardised with the
    training graphs' statistics (`node_fields`), the conditions standardised with the training
    rows', the MSGNN built with a graph's input widths and the full-batch Adam loop on
    readout(embedding of each row, cond) with a weighted squared error. `device` "auto": a GPU where
    there is one (msgnn.learn.train.resolve_device)."""

    node_fields = NODE_FIELDS
    levels = ("atom", "cluster", "facet")

    def __init__(self, params: dict, features: list[str], seed: int, epochs: int, device: str):
        self.params, self.features, self.seed = params, features, seed
        self.epochs, self.device = int(params.get("epochs", epochs)), resolve_device(device)

    def _fit_scaling(self, graphs, cond_raw):
        """`graphs`: the training graphs (an iterable); `cond_raw`: the training rows' conditions."""
        self.node_stats = {}
        self._fit_node_stats(graphs, self.node_fields)
        self.cond_scaler = StandardScaler().fit(cond_raw)

    def _fit_node_stats(self, graphs, fields):
        """Mean and spread of each (store, attribute) of `fields` over `graphs`, added to node_stats."""
        graphs = list(graphs)
        for key, attr in fields:
            x = torch.cat([getattr(g[key], attr) for g in graphs])
            if not len(x):          # e.g. no crystal touches another in any training frame
                continue
            sd = x.std(0, unbiased=False)
            self.node_stats[(key, attr)] = (x.mean(0), torch.where(sd > 1e-6 * x.mean(0).abs(), sd, torch.ones_like(sd)))

    def _scaled(self, g):
        s = g.clone()
        for (key, attr), (m, sd) in self.node_stats.items():
            setattr(s[key], attr, (getattr(g[key], attr) - m) / sd)
        return s

    def _cond(self, raw: np.ndarray) -> torch.Tensor:
        return torch.tensor(self.cond_scaler.transform(raw), dtype=torch.float32, device=self.device)

    def _build_model(self, first, n_targets: int = 1):
        p = self.params
        self.model = MSGNN(first["atom"].x.shape[1], first["atom", "bond", "atom"].edge_attr.shape[1],
                           first["cluster"].x.shape[1], first["facet"].x.shape[1],
                           first["facet", "adj", "facet"].edge_attr.shape[1], len(self.features),
                           hidden=int(p["hidden"]), layers_per_scale=int(p["layers_per_scale"]),
                           attention_dim=int(p["attention_dim"]), n_targets=n_targets,
                           levels=tuple(p.get("levels", self.levels)),
                           cross_attention=bool(p.get("cross_attention", True)),
                           atom_head=bool(p.get("propensity"))).to(self.device)
        return self.model

    def _train(self, next_embedding, cond, y, w):
        """`epochs` full-batch Adam steps; `next_embedding()` gives each epoch's graph embedding of every
        training row (MSGNN.embed of that epoch's views, one per row), or that and an auxiliary loss
        added to the weighted squared error (the propensity task)."""
        p = self.params
        opt = torch.optim.Adam(self.model.parameters(), lr=float(p["lr"]), weight_decay=float(p["weight_decay"]))
        self.losses = []
        for _ in range(self.epochs):
            self.model.train()
            z = next_embedding()
            z, aux = z if isinstance(z, tuple) else (z, None)
            opt.zero_grad()
            pred = self.model.readout(z, cond)[:, 0]
            loss = (w * (pred - y) ** 2).mean()
            if aux is not None:
                loss = loss + aux
            loss.backward()
            opt.step()
            self.losses.append(loss.item())


class GrowthGNN(GNNRegressor):
    """fit(df) / predict(df) on growth-table rows (msgnn.learn.growth), like msgnn.learn.lomo's models."""

    def __init__(self, params: dict, graphs: dict, features: list[str], seed: int, *, epochs: int = 150,
                 device: str = "auto"):
        super().__init__(params, features, seed, epochs, device)
        # training views: the snapshots, and with params["windows"] their lateral windows too
        kinds = ("snapshot", "window") if params.get("windows") else ("snapshot",)
        self.graphs = {k: [g for g in v if getattr(g, "view_kind", "snapshot") in kinds] for k, v in graphs.items()}
        self.snapshots = {k: [g for g in v if getattr(g, "view_kind", "snapshot") == "snapshot"] for k, v in graphs.items()}

    def _batch(self, views, keys, pick):
        return Batch.from_data_list([self._scaled(views[k][pick(k)]) for k in keys]).to(self.device)

    def fit(self, df: pd.DataFrame):
        seed_everything(self.seed)
        rng = np.random.default_rng(self.seed)
        keys = sorted(set(zip(df["material"], df["orientation"])))
        cond_raw = df[self.features].to_numpy(float)
        self._fit_scaling((g for k in keys for g in self.graphs[k]), cond_raw)
        self._build_model(self.graphs[keys[0]][0])
        rows = torch.tensor([keys.index(k) for k in zip(df["material"], df["orientation"])], device=self.device)
        u = df["target_scale_m_per_s"].to_numpy(float)
        y = torch.tensor(df["velocity_m_per_s"].to_numpy(float) / u, dtype=torch.float32, device=self.device)
        w = torch.tensor(u ** 2 / np.mean(u ** 2), dtype=torch.float32, device=self.device)
        pick = lambda k: int(rng.integers(len(self.graphs[k])))      # noqa: E731
        if self.params.get("propensity"):
            embedding = lambda: self._with_propensity(self._batch(self.graphs, keys, pick), rows)    # noqa: E731
        else:
            embedding = lambda: self.model.embed(self._batch(self.graphs, keys, pick))[rows]        # noqa: E731
        self._train(embedding, self._cond(cond_raw), y, w)
        return self

    def _with_propensity(self, batch, rows):
        """The rows' embeddings and the propensity loss: params["propensity"] x the binary cross-entropy
        of the atom head's logits against each labelled atom's solid flag one snapshot later."""
        z, ha = self.model.embed(batch, atoms=True)
        label = batch["atom"].next_solid
        known = torch.isfinite(label)
        aux = (nn.functional.binary_cross_entropy_with_logits(self.model.atom_head(ha[known])[:, 0], label[known])
               if known.any() else z.new_zeros(()))
        return z[rows], float(self.params["propensity"]) * aux

    @torch.no_grad()
    def predict(self, df: pd.DataFrame) -> np.ndarray:
        self.model.eval()
        keys = sorted(set(zip(df["material"], df["orientation"])))
        rows = torch.tensor([keys.index(k) for k in zip(df["material"], df["orientation"])], device=self.device)
        cond = self._cond(df[self.features].to_numpy(float))
        n = min(len(self.snapshots[k]) for k in keys)
        y = np.mean([self.model.readout(self.model.embed(self._batch(self.snapshots, keys, lambda k: i))[rows],
                                        cond)[:, 0].cpu().numpy() for i in range(n)], axis=0)
        return y * df["target_scale_m_per_s"].to_numpy(float)
