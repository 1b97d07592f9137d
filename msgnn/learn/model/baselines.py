"""Baselines on a descriptor vector that carries the same information as the MS-GNN input.

The descriptor of a sample concatenates, for atom, cluster and facet node features and the bond
and facet-boundary edge features, the per-feature mean, standard deviation, min and max over the
sample's nodes/edges; log10 of the node and edge counts of each level (graph size and mean
degree); and the conditions vector. Models: :class:`MLP` (torch), :func:`make_svr` (sklearn SVR,
one per target via MultiOutputRegressor) and :class:`MeanPredictor`.
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.multioutput import MultiOutputRegressor
from sklearn.svm import SVR
from torch import Tensor, nn


def feature_stats(x: Tensor) -> Tensor:
    """(n, F) -> (4F,): mean, std, min, max over rows (zeros for an empty set)."""
    if x.shape[0] == 0:
        return x.new_zeros(4 * x.shape[1])
    std = x.std(dim=0, unbiased=False)
    return torch.cat([x.mean(0), std, x.min(0).values, x.max(0).values])


def descriptor(sample) -> np.ndarray:
    """Fixed-length descriptor vector (D,) of one HeteroData sample."""
    parts = [feature_stats(sample["atom"].x), feature_stats(sample["cluster"].x), feature_stats(sample["facet"].x),
             feature_stats(sample["atom", "bond", "atom"].edge_attr),
             feature_stats(sample["facet", "adj", "facet"].edge_attr)]
    counts = [sample["atom"].num_nodes, sample["cluster"].num_nodes, sample["facet"].num_nodes,
              sample["atom", "bond", "atom"].edge_index.shape[1],
              sample["cluster", "near", "cluster"].edge_index.shape[1],
              sample["facet", "adj", "facet"].edge_index.shape[1]]
    parts.append(torch.log10(torch.tensor(counts, dtype=torch.float32) + 1.0))
    parts.append(sample.cond.reshape(-1).float())
    return torch.cat(parts).numpy().astype(np.float64)


def descriptors(samples) -> np.ndarray:
    """(n_samples, D) descriptor matrix; callers that fit many times compute it once per dataset."""
    return np.stack([descriptor(s) for s in samples])


class MLP(nn.Module):
    """Multilayer perceptron on descriptors.

    Forward: x (B, D) -> (B, n_targets). ``layers`` hidden layers of width ``hidden``.
    """

    def __init__(self, in_dim: int, hidden: int = 64, layers: int = 2, n_targets: int = 3,
                 dropout: float = 0.0):
        super().__init__()
        mods, d = [], in_dim
        for _ in range(layers):
            mods += [nn.Linear(d, hidden), nn.SiLU(), nn.Dropout(dropout)]
            d = hidden
        mods.append(nn.Linear(d, n_targets))
        self.net = nn.Sequential(*mods)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def make_svr(C: float = 1.0, epsilon: float = 0.1, gamma: float | str = "scale") -> MultiOutputRegressor:
    """An RBF SVR per target (inputs and targets are standardised by the caller)."""
    return MultiOutputRegressor(SVR(kernel="rbf", C=C, epsilon=epsilon, gamma=gamma))


class MeanPredictor:
    """Predicts the mean of the training targets (per target) for every input."""

    def fit(self, X, y):
        self.mean_ = np.asarray(y, dtype=float).mean(axis=0)
        return self

    def predict(self, X):
        return np.tile(self.mean_, (len(X), 1))
