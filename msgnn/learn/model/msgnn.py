"""The multi-scale graph neural network (MS-GNN).

Three levels of one sample (see :mod:`msgnn.learn.dataset`): atoms (rho = 1), clusters (rho = 10) and
facets of a micrograph (rho = 100), plus a process conditions vector. The forward pass:

1. atoms: ``layers_per_scale`` residual GINE convolutions with the bond edge attributes;
2. atoms -> clusters: mean of the atom embeddings of each cluster over the ``(atom, in, cluster)``
   pooling edges, fused with the cluster's own features; then ``layers_per_scale`` residual GATv2
   convolutions over ``(cluster, near, cluster)``;
3. facets: ``layers_per_scale`` residual GINE convolutions over ``(facet, adj, facet)`` with the
   facet-boundary edge attributes;
4. cross-scale attention within each sample: facets attend to the clusters (which carry the pooled
   atomic information), then clusters attend back to the updated facets (``attention_dim``);
5. readout: mean and max pooling per level, concatenated with an embedding of the conditions
   vector; three regression heads (growth rate, nucleation density, lambda; log10, standardised).

Shapes below: ``N_a`` atoms, ``N_c`` clusters, ``N_f`` facets in the batch, ``B`` samples,
``H`` = ``hidden``, ``A`` = ``attention_dim``.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch_geometric.nn import GATv2Conv, GINEConv, global_max_pool, global_mean_pool
from torch_geometric.utils import scatter, to_dense_batch


def _mlp(i: int, h: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(i, h), nn.SiLU(), nn.Linear(h, o))


class ResidualGINE(nn.Module):
    """``layers`` residual GINE convolutions with edge attributes.

    Args:
        hidden: node width H.
        edge_dim: edge attribute width F_e (projected to H inside GINEConv).
        layers: number of convolutions.

    Forward: x (N, H), edge_index (2, E), edge_attr (E, F_e) -> (N, H).
    """

    def __init__(self, hidden: int, edge_dim: int, layers: int):
        super().__init__()
        self.convs = nn.ModuleList(GINEConv(_mlp(hidden, hidden, hidden), edge_dim=max(edge_dim, 1))
                                   for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        if edge_attr.shape[-1] == 0:
            edge_attr = edge_attr.new_zeros(edge_attr.shape[0], 1)
        for conv, norm in zip(self.convs, self.norms):
            x = x + nn.functional.silu(norm(conv(x, edge_index, edge_attr)))
        return x


class ResidualGATv2(nn.Module):
    """``layers`` residual single-head GATv2 convolutions (no edge attributes).

    Forward: x (N, H), edge_index (2, E) -> (N, H).
    """

    def __init__(self, hidden: int, layers: int):
        super().__init__()
        self.convs = nn.ModuleList(GATv2Conv(hidden, hidden, heads=1, add_self_loops=True)
                                   for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        for conv, norm in zip(self.convs, self.norms):
            x = x + nn.functional.silu(norm(conv(x, edge_index)))
        return x


class AtomToClusterPool(nn.Module):
    """Mean of the atom embeddings of each cluster, fused with the cluster's own embedding.

    Forward: h_atom (N_a, H), h_cluster (N_c, H), pool_index (2, N_a) rows (atom, cluster)
    -> (N_c, H).
    """

    def __init__(self, hidden: int):
        super().__init__()
        self.fuse = _mlp(2 * hidden, hidden, hidden)

    def forward(self, h_atom: Tensor, h_cluster: Tensor, pool_index: Tensor) -> Tensor:
        pooled = scatter(h_atom[pool_index[0]], pool_index[1], dim=0, dim_size=h_cluster.shape[0],
                         reduce="mean")
        return h_cluster + self.fuse(torch.cat([pooled, h_cluster], dim=-1))


class CrossScaleAttention(nn.Module):
    """Scaled dot-product attention from query nodes to key nodes of the *same* sample.

    Args:
        hidden: node width H of queries and keys.
        attention_dim: width A of the query/key projections.

    Forward: x_q (N_q, H), batch_q (N_q,), x_k (N_k, H), batch_k (N_k,) -> (N_q, H): the
    queries plus the projected attention-weighted values (residual).
    """

    def __init__(self, hidden: int, attention_dim: int):
        super().__init__()
        self.q = nn.Linear(hidden, attention_dim)
        self.k = nn.Linear(hidden, attention_dim)
        self.v = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.scale = 1.0 / math.sqrt(attention_dim)

    def forward(self, x_q: Tensor, batch_q: Tensor, x_k: Tensor, batch_k: Tensor,
                n_graphs: int) -> Tensor:
        k, mask = to_dense_batch(self.k(x_k), batch_k, batch_size=n_graphs)   # (B, K, A), (B, K)
        v, _ = to_dense_batch(self.v(x_k), batch_k, batch_size=n_graphs)      # (B, K, H)
        q = self.q(x_q)                                                        # (N_q, A)
        scores = torch.einsum("na,nka->nk", q, k[batch_q]) * self.scale       # (N_q, K)
        scores = scores.masked_fill(~mask[batch_q], float("-inf"))
        attn = torch.softmax(scores, dim=-1).nan_to_num(0.0)                   # samples w/o keys
        msg = torch.einsum("nk,nkh->nh", attn, v[batch_q])                     # (N_q, H)
        return x_q + self.out(self.norm(msg))


class MSGNN(nn.Module):
    """Multi-scale GNN: atoms -> clusters <-> facets, plus conditions, to three log10 targets.

    Args:
        atom_dim, bond_dim, cluster_dim, facet_dim, facet_edge_dim, cond_dim: input widths.
        hidden: H. layers_per_scale: convolutions per level. attention_dim: A.
        n_targets: number of regression heads (3).
        levels: the levels read (ablations: ("atom",), ("atom", "cluster"); the macroscale
            forecast's head on a micrograph alone: ("facet",)); a level left out contributes
            zeros to the readout. cross_attention: False skips step 4. atom_head: a per-atom
            logit on the atom embeddings (`atom_head`), for an auxiliary per-atom task.

    Forward: a (batched) HeteroData as built by :mod:`msgnn.learn.dataset` -> (B, n_targets).
    """

    def __init__(self, atom_dim: int, bond_dim: int, cluster_dim: int, facet_dim: int,
                 facet_edge_dim: int, cond_dim: int, *, hidden: int = 32, layers_per_scale: int = 2,
                 attention_dim: int = 16, n_targets: int = 3,
                 levels: tuple = ("atom", "cluster", "facet"), cross_attention: bool = True,
                 atom_head: bool = False):
        super().__init__()
        unknown = set(levels) - {"atom", "cluster", "facet"}
        if not levels or unknown or ("cluster" in levels and "atom" not in levels):
            raise ValueError(f"levels must name atom, cluster, facet (cluster only with atom): {levels}")
        self.levels, self.cross_attention = tuple(levels), bool(cross_attention)
        self.enc_atom = nn.Linear(atom_dim, hidden)
        self.enc_cluster = nn.Linear(cluster_dim, hidden)
        self.enc_facet = nn.Linear(facet_dim, hidden)
        self.enc_cond = _mlp(cond_dim, hidden, hidden)
        self.atom_convs = ResidualGINE(hidden, bond_dim, layers_per_scale)
        self.pool = AtomToClusterPool(hidden)
        self.cluster_convs = ResidualGATv2(hidden, layers_per_scale)
        self.facet_convs = ResidualGINE(hidden, facet_edge_dim, layers_per_scale)
        self.cluster_to_facet = CrossScaleAttention(hidden, attention_dim)
        self.facet_to_cluster = CrossScaleAttention(hidden, attention_dim)
        self.trunk = _mlp(7 * hidden, hidden, hidden)
        self.heads = nn.ModuleList(_mlp(hidden, hidden, 1) for _ in range(n_targets))
        if atom_head:           # a per-atom logit on the atom embeddings (the growth task's propensity)
            self.atom_head = _mlp(hidden, hidden, 1)

    @classmethod
    def from_sample(cls, sample, **kwargs) -> "MSGNN":
        """Build with the input widths of a sample (HeteroData)."""
        return cls(sample["atom"].x.shape[1], sample["atom", "bond", "atom"].edge_attr.shape[1],
                   sample["cluster"].x.shape[1], sample["facet"].x.shape[1],
                   sample["facet", "adj", "facet"].edge_attr.shape[1], sample.cond.shape[1], **kwargs)

    @staticmethod
    def _batch(store, n: int, device) -> Tensor:
        b = getattr(store, "batch", None)
        return b if b is not None else torch.zeros(n, dtype=torch.long, device=device)

    def forward(self, data) -> Tensor:
        return self.readout(self.embed(data), data.cond)

    def readout(self, z: Tensor, cond: Tensor) -> Tensor:
        """Graph embeddings z (B, 6H) and conditions (B, cond_dim) -> (B, n_targets). Rows may share
        a graph (z[rows]): the growth task reads one interface at many temperatures."""
        z = self.trunk(torch.cat([z, self.enc_cond(cond)], dim=-1))                        # (B, H)
        return torch.cat([head(z) for head in self.heads], dim=-1)                         # (B, T)

    def embed(self, data, atoms: bool = False):
        """The levels' mean and max pooled node embeddings after cross-scale attention: (B, 6H);
        with `atoms`, also the atom embeddings after the atom convolutions (N_a, H)."""
        n_graphs = data.cond.shape[0]          # one row per graph (a growth-task graph: width 0)
        atomic = self._atomic(data)
        z = self._attend_and_pool(*atomic, *self._facets(data), n_graphs)
        return (z, atomic[0]) if atoms else z

    def embed_rows(self, atomic, facets, rows: Tensor) -> Tensor:
        """Like embed, for samples that share their atomic part: `atomic` a batch of G interface
        graphs (atoms, clusters), `facets` a batch of B graphs (facets), `rows` (B,) the interface of
        each facet graph. The atomic convolutions run once per interface; each sample's cross-scale
        attention and pooling see its own interface's clusters and atoms. -> (B, 6H)."""
        ha, ba, hc, bc = self._atomic(atomic)
        hf, bf = self._facets(facets)
        n_graphs = int(rows.numel())

        def per_row(h, b):                     # the nodes of each row's interface, row-numbered
            counts = torch.bincount(b, minlength=int(atomic.num_graphs))
            starts = torch.cumsum(counts, 0) - counts
            n = counts[rows]
            owner = torch.repeat_interleave(torch.arange(n_graphs, device=h.device), n)
            first = torch.repeat_interleave(torch.cumsum(n, 0) - n, n)
            idx = starts[rows].repeat_interleave(n) + torch.arange(int(n.sum()), device=h.device) - first
            return h[idx], owner

        return self._attend_and_pool(*per_row(ha, ba), *per_row(hc, bc), hf, bf, n_graphs)

    def _atomic(self, data):
        """Atom convolutions, atoms -> clusters, cluster convolutions: ha, ba, hc, bc."""
        xa, xc = data["atom"].x, data["cluster"].x
        ba = self._batch(data["atom"], xa.shape[0], xa.device)
        bc = self._batch(data["cluster"], xc.shape[0], xc.device)
        bond = data["atom", "bond", "atom"]
        ha = self.atom_convs(self.enc_atom(xa), bond.edge_index, bond.edge_attr)           # (N_a, H)
        hc = self.pool(ha, self.enc_cluster(xc), data["atom", "in", "cluster"].edge_index)  # (N_c, H)
        hc = self.cluster_convs(hc, data["cluster", "near", "cluster"].edge_index)
        return ha, ba, hc, bc

    def _facets(self, data):
        """Facet convolutions: hf, bf."""
        xf = data["facet"].x
        fadj = data["facet", "adj", "facet"]
        return self.facet_convs(self.enc_facet(xf), fadj.edge_index, fadj.edge_attr), \
            self._batch(data["facet"], xf.shape[0], xf.device)                              # (N_f, H)

    def _attend_and_pool(self, ha, ba, hc, bc, hf, bf, n_graphs: int) -> Tensor:
        if "atom" not in self.levels:
            ha = torch.zeros_like(ha)
        if "cluster" not in self.levels:
            hc = torch.zeros_like(hc)
        if "facet" not in self.levels:
            hf = torch.zeros_like(hf)
        if self.cross_attention and {"cluster", "facet"} <= set(self.levels):
            hf = self.cluster_to_facet(hf, bf, hc, bc, n_graphs)
            hc = self.facet_to_cluster(hc, bc, hf, bf, n_graphs)

        return torch.cat([global_mean_pool(ha, ba, n_graphs), global_max_pool(ha, ba, n_graphs),
                          global_mean_pool(hc, bc, n_graphs), global_max_pool(hc, bc, n_graphs),
                          global_mean_pool(hf, bf, n_graphs), global_max_pool(hf, bf, n_graphs)], dim=-1)
