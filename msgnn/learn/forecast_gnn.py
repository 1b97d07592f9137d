"""The MS-GNN as a model of the macroscale forecast (msgnn.learn.forecast).

* "msgnn": all three levels, with cross-scale attention (ForecastMSGNN). Each row (one library
  condition) joins the stationary interface of its material at Tm (atoms -> clusters, the growth
  task's graphs, msgnn.learn.growth_gnn.interface_graphs) with the facet graph of its early in-situ
  frame (facets); the interface's convolutions run once per interface and epoch and every row's
  facets and clusters attend to each other (MSGNN.embed_rows). The interface a row reads is one
  snapshot per epoch in training, the mean over snapshots in prediction, as in the growth task.
* "msgnn_noattention" (ablation): the same without cross-scale attention.
* "msgnn_facets" (ablation): the facet level alone (ForecastGNN: MSGNN(levels=("facet",)), the
  atom and cluster levels empty), the material's atomic inputs only as conditions.

The scalar inputs (forecast.FEATURES: the early frame's summaries and Avrami estimates, the
set-points, the growth task's atomic inputs) are the conditions vector. One model per target, like
the forecast's other models; each fits the log10 target standardised with the training rows' mean
and spread. Scaling, model construction and the training loop are GNNRegressor's
(msgnn.learn.growth_gnn). Cost: the three-level model's epoch is dominated by the interfaces'
atoms (once per interface, not per row).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Batch

from msgnn.learn import lomo
from msgnn.learn.dataset import make_sample
from msgnn.learn.growth_gnn import GNNRegressor
from msgnn.learn.train import seed_everything

#: the facet level alone: no atoms, no clusters (one zero feature each, so the encoders have a width)
EMPTY_ATOMIC = {"atom_x": torch.zeros(0, 1), "atom_edge_index": torch.zeros(2, 0, dtype=torch.long),
                "atom_edge_attr": torch.zeros(0, 1), "atom_cluster": torch.zeros(0, dtype=torch.long),
                "cluster_x": torch.zeros(0, 1), "cluster_edge_index": torch.zeros(2, 0, dtype=torch.long)}


def early_samples(graphs: dict) -> dict:
    """forecast row key -> HeteroData whose facet level is the early frame's facet graph (make_sample:
    lengths and areas as log10) and whose atom and cluster levels are empty."""
    return {k: make_sample(EMPTY_ATOMIC, g, [], []) for k, g in graphs.items()}


GNN_MODELS = ("msgnn", "msgnn_noattention", "msgnn_facets")


def model_factory(model: str, params: dict, features: list[str], seed: int, samples: dict | None = None):
    """lomo.make_model for the forecast: the MS-GNN variants (GNN_MODELS) read `samples`
    ({"facets": early_samples, "interfaces": growth_gnn.interface_graphs}); every other model is lomo's."""
    if model == "msgnn_facets":
        return ForecastGNN(params, samples["facets"], features, seed)
    if model in GNN_MODELS:
        return ForecastMSGNN(params, samples["facets"], samples["interfaces"], features, seed)
    return lomo.make_model(model, params, features, seed)


def _scaled_target(model, df: pd.DataFrame) -> torch.Tensor:
    """The target in units of each row's scale, standardised on the training rows (mean and SD
    kept on the model for `_unscaled_target`)."""
    y = df["velocity_m_per_s"].to_numpy(float) / df["target_scale_m_per_s"].to_numpy(float)
    model.y_mean_, model.y_sd_ = float(y.mean()), float(y.std()) or 1.0
    return torch.tensor((y - model.y_mean_) / model.y_sd_, dtype=torch.float32, device=model.device)


def _unscaled_target(model, z: np.ndarray, df: pd.DataFrame) -> np.ndarray:
    return (z.astype(float) * model.y_sd_ + model.y_mean_) * df["target_scale_m_per_s"].to_numpy(float)


class ForecastGNN(GNNRegressor):
    """fit(df) / predict(df) on forecast rows in lomo's frame (forecast._lomo_frame: the target is
    `velocity_m_per_s` = log10 of a forecast quantity, `target_scale_m_per_s` = 1)."""

    node_fields = (("facet", "x"), (("facet", "adj", "facet"), "edge_attr"))
    levels = ("facet",)

    def __init__(self, params: dict, samples: dict, features: list[str], seed: int, *, epochs: int = 150,
                 device: str = "auto"):
        super().__init__(params, features, seed, epochs, device)
        self.samples = samples

    def _graphs(self, df: pd.DataFrame) -> list:
        from msgnn.learn.forecast import KEY
        return [self.samples[k] for k in zip(*(df[c] for c in KEY))]

    def _batch(self, df: pd.DataFrame):
        return Batch.from_data_list([self._scaled(g) for g in self._graphs(df)]).to(self.device)

    def fit(self, df: pd.DataFrame):
        seed_everything(self.seed)
        graphs = self._graphs(df)
        cond_raw = df[self.features].to_numpy(float)
        self._fit_scaling(graphs, cond_raw)
        self._build_model(graphs[0])
        batch = self._batch(df)                   # one graph per row, the same every epoch
        self._train(lambda: self.model.embed(batch), self._cond(cond_raw), _scaled_target(self, df),
                    torch.ones(len(df), device=self.device))
        return self

    @torch.no_grad()
    def predict(self, df: pd.DataFrame) -> np.ndarray:
        self.model.eval()
        z = self.model.readout(self.model.embed(self._batch(df)), self._cond(df[self.features].to_numpy(float)))
        return _unscaled_target(self, z[:, 0].cpu().numpy(), df)


class ForecastMSGNN(GNNRegressor):
    """The three-level forecast model ("msgnn"; "msgnn_noattention" with params cross_attention False):
    fit(df) / predict(df) on forecast rows in lomo's frame, like ForecastGNN."""

    facet_fields = (("facet", "x"), (("facet", "adj", "facet"), "edge_attr"))

    def __init__(self, params: dict, samples: dict, interfaces: dict, features: list[str], seed: int, *,
                 epochs: int = 150, device: str = "auto"):
        super().__init__(params, features, seed, epochs, device)
        self.samples = samples
        self.interfaces = {k: [g for g in v if getattr(g, "view_kind", "snapshot") == "snapshot"]
                           for k, v in interfaces.items()}

    @staticmethod
    def _keys(df: pd.DataFrame) -> list:
        """The rows' interfaces, (material, orientation), each once."""
        return sorted(set(zip(df["material"], df["orientation"])))

    def _rows(self, df: pd.DataFrame):
        """The rows' interfaces, each row's index among them and the batch of the rows' early facet graphs."""
        from msgnn.learn.forecast import KEY
        keys = self._keys(df)
        rows = torch.tensor([keys.index(k) for k in zip(df["material"], df["orientation"])], device=self.device)
        facets = Batch.from_data_list([self._scaled(self.samples[k]) for k in zip(*(df[c] for c in KEY))]).to(self.device)
        return keys, rows, facets

    def _interfaces(self, keys, pick):
        return Batch.from_data_list([self._scaled(self.interfaces[k][pick(k)]) for k in keys]).to(self.device)

    def fit(self, df: pd.DataFrame):
        from msgnn.learn.forecast import KEY
        seed_everything(self.seed)
        rng = np.random.default_rng(self.seed)
        keys, cond_raw = self._keys(df), df[self.features].to_numpy(float)
        self._fit_scaling((g for k in keys for g in self.interfaces[k]), cond_raw)
        self._fit_node_stats([self.samples[k] for k in zip(*(df[c] for c in KEY))], self.facet_fields)
        first, micrograph = self.interfaces[keys[0]][0].clone(), self.samples[next(zip(*(df[c] for c in KEY)))]
        for key, attr in self.facet_fields:          # the input widths of both parts
            setattr(first[key], attr, getattr(micrograph[key], attr))
        self._build_model(first)
        _, rows, facets = self._rows(df)          # after the scaling, which _rows applies
        self._train(lambda: self.model.embed_rows(
                        self._interfaces(keys, lambda k: int(rng.integers(len(self.interfaces[k])))), facets, rows),
                    self._cond(cond_raw), _scaled_target(self, df), torch.ones(len(df), device=self.device))
        return self

    @torch.no_grad()
    def predict(self, df: pd.DataFrame) -> np.ndarray:
        self.model.eval()
        keys, rows, facets = self._rows(df)
        cond = self._cond(df[self.features].to_numpy(float))
        n = min(len(self.interfaces[k]) for k in keys)
        z = np.mean([self.model.readout(self.model.embed_rows(self._interfaces(keys, lambda k: i), facets, rows),
                                        cond)[:, 0].cpu().numpy() for i in range(n)], axis=0)
        return _unscaled_target(self, z, df)
