"""The MS-GNN as a model of the macroscale forecast (msgnn.learn.forecast, model "msgnn").

Each row (one library condition) has its own graph: the facet graph of its early in-situ frame
(forecast_table's `graphs`; facet_graph of the crystals found by crystal_masks, lengths and areas
as log10 by msgnn.learn.dataset.make_sample), read whole by the MS-GNN's facet level
(MSGNN(levels=("facet",)): the atom and cluster levels are empty and contribute zeros). The scalar
inputs (forecast.FEATURES: the early frame's summaries and Avrami estimates, the set-points, the
growth task's atomic inputs) are its conditions vector. One model per target, like the forecast's
other models; it fits the log10 target standardised with the training rows' mean and spread.
Scaling, model construction and the training loop are GrowthGNN's (msgnn.learn.growth_gnn.GNNRegressor).

Why not the interface graphs too: the growth task's atomic and cluster levels are one graph per
(material, orientation), and cross-scale attention needs them inside each row's sample, so every
row would carry a ~300-atom interface; the nested evaluation (trials x inner folds x materials x
targets fits) then costs tens of times more on a CPU. The material's atomic inputs enter as conditions.
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


def model_factory(model: str, params: dict, features: list[str], seed: int, samples: dict | None = None):
    """lomo.make_model for the forecast: "msgnn" is ForecastGNN, every other model lomo's."""
    if model == "msgnn":
        return ForecastGNN(params, samples, features, seed)
    return lomo.make_model(model, params, features, seed)


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
        y = df["velocity_m_per_s"].to_numpy(float) / df["target_scale_m_per_s"].to_numpy(float)
        self.y_mean_, self.y_sd_ = float(y.mean()), float(y.std()) or 1.0
        batch = self._batch(df)                   # one graph per row, the same every epoch
        n = len(df)
        self._train(lambda: batch, torch.arange(n, device=self.device), self._cond(cond_raw),
                    torch.tensor((y - self.y_mean_) / self.y_sd_, dtype=torch.float32, device=self.device),
                    torch.ones(n, device=self.device))
        return self

    @torch.no_grad()
    def predict(self, df: pd.DataFrame) -> np.ndarray:
        self.model.eval()
        z = self.model.readout(self.model.embed(self._batch(df)), self._cond(df[self.features].to_numpy(float)))
        y = z[:, 0].cpu().numpy().astype(float) * self.y_sd_ + self.y_mean_
        return y * df["target_scale_m_per_s"].to_numpy(float)
