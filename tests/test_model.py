"""MS-GNN and baselines: shapes on batched HeteroData, graph symmetries, per-sample attention."""
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

from msgnn.learn.dataset import build_samples
from msgnn.learn.model import MLP, MSGNN, MeanPredictor, descriptor, descriptors, make_svr
from msgnn.learn.model.msgnn import AtomToClusterPool, CrossScaleAttention
from toy import toy_inputs


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    ins = toy_inputs(tmp_path_factory.mktemp("toy"), {"Al": [800, 880], "Si": [1450, 1600]},
                     n_snapshots=2, n_images=2, n_atoms=25)
    return build_samples(ins)[0]


def _model(s, **kw):
    torch.manual_seed(0)
    return MSGNN.from_sample(s, hidden=16, layers_per_scale=2, attention_dim=8, **kw).eval()


def test_forward_shapes_on_a_batch(samples):
    model = _model(samples[0])
    batch = next(iter(DataLoader(samples, batch_size=5)))
    out = model(batch)
    assert out.shape == (5, 3) and torch.isfinite(out).all()
    assert model(samples[0]).shape == (1, 3)
    # batched prediction equals one-by-one prediction (no leakage between samples in a batch)
    single = torch.cat([model(s) for s in samples[:5]])
    torch.testing.assert_close(out, single, atol=1e-5, rtol=1e-4)


def test_gradients_reach_every_scale(samples):
    model = _model(samples[0])
    model.train()
    model(Batch.from_data_list(samples[:3])).sum().backward()
    for name in ["enc_atom", "atom_convs", "pool", "cluster_convs", "facet_convs",
                 "cluster_to_facet", "facet_to_cluster", "enc_cond"]:
        grads = [p.grad for p in getattr(model, name).parameters()]
        assert all(g is not None for g in grads), name
        assert sum(g.abs().sum() for g in grads) > 0, name


def test_invariant_to_node_order(samples):
    """Permuting the atoms (and relabelling edges and pooling edges) leaves the output unchanged."""
    model = _model(samples[0])
    s = samples[0]
    p = s.clone()
    n = s["atom"].num_nodes
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(1))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(n)
    p["atom"].x = s["atom"].x[perm]
    p["atom", "bond", "atom"].edge_index = inv[s["atom", "bond", "atom"].edge_index]
    pool = s["atom", "in", "cluster"].edge_index
    p["atom", "in", "cluster"].edge_index = torch.stack([inv[pool[0]], pool[1]])
    fperm = torch.randperm(s["facet"].num_nodes, generator=torch.Generator().manual_seed(2))
    finv = torch.empty_like(fperm)
    finv[fperm] = torch.arange(len(fperm))
    p["facet"].x = s["facet"].x[fperm]
    p["facet", "adj", "facet"].edge_index = finv[s["facet", "adj", "facet"].edge_index]
    torch.testing.assert_close(model(s), model(p), atol=1e-5, rtol=1e-4)


def test_output_depends_on_each_scale_and_conditions(samples):
    model = _model(samples[0])
    base = model(samples[0])
    for change in ("atom", "cluster", "facet", "cond"):
        s = samples[0].clone()
        if change == "cond":
            s.cond = s.cond + 1.0
        else:
            s[change].x = s[change].x + 1.0
        assert not torch.allclose(model(s), base), change


def test_pooling_is_the_mean_of_member_atoms():
    pool = AtomToClusterPool(2)
    # make fuse() return its first half (the pooled mean) so the output is h_cluster + mean
    with torch.no_grad():
        for m in pool.fuse:
            if isinstance(m, torch.nn.Linear):
                m.weight.zero_(); m.bias.zero_()
    h_atom = torch.tensor([[1.0, 0], [3, 0], [10, 10]])
    idx = torch.tensor([[0, 1, 2], [0, 0, 1]])
    from torch_geometric.utils import scatter
    pooled = scatter(h_atom[idx[0]], idx[1], dim=0, dim_size=2, reduce="mean")
    torch.testing.assert_close(pooled, torch.tensor([[2.0, 0], [10, 10]]))
    assert pool(h_atom, torch.zeros(2, 2), idx).shape == (2, 2)


def test_cross_attention_stays_within_a_sample():
    att = CrossScaleAttention(4, 3)
    torch.manual_seed(0)
    xq, bq = torch.randn(5, 4), torch.tensor([0, 0, 1, 1, 1])
    xk, bk = torch.randn(6, 4), torch.tensor([0, 0, 0, 1, 1, 1])
    out = att(xq, bq, xk, bk, 2)
    xk2 = xk.clone()
    xk2[3:] += 5.0                      # change only sample 1's keys
    out2 = att(xq, bq, xk2, bk, 2)
    torch.testing.assert_close(out[:2], out2[:2])
    assert not torch.allclose(out[2:], out2[2:])


def test_descriptor_carries_pooled_statistics_and_conditions(samples):
    s = samples[0]
    d = descriptor(s)
    fa, fc, ff = s["atom"].x.shape[1], s["cluster"].x.shape[1], s["facet"].x.shape[1]
    fe, ffe = s["atom", "bond", "atom"].edge_attr.shape[1], s["facet", "adj", "facet"].edge_attr.shape[1]
    assert d.shape == (4 * (fa + fc + ff + fe + ffe) + 6 + s.cond.shape[1],)
    np.testing.assert_allclose(d[:fa], s["atom"].x.mean(0).numpy(), rtol=1e-5)
    np.testing.assert_allclose(d[-s.cond.shape[1]:], s.cond[0].numpy(), rtol=1e-6)
    assert descriptors(samples).shape == (len(samples), d.shape[0])


def test_baselines_fit_a_smooth_function():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 3))
    y = np.stack([X[:, 0], np.sin(2 * X[:, 1]), -X[:, 2] ** 2], 1)
    svr = make_svr(C=10.0, epsilon=0.01).fit(X[:250], y[:250])
    mp = MeanPredictor().fit(X[:250], y[:250])
    np.testing.assert_allclose(mp.predict(X[250:])[0], y[:250].mean(0))
    rmse_svr = np.sqrt(((svr.predict(X[250:]) - y[250:]) ** 2).mean())
    rmse_mean = np.sqrt(((mp.predict(X[250:]) - y[250:]) ** 2).mean())
    assert rmse_svr < 0.3 * rmse_mean
    assert MLP(3, hidden=8, layers=2)(torch.randn(4, 3)).shape == (4, 3)


def test_embed_rows_shares_each_interface_and_equals_embed_of_the_joined_samples(samples):
    """MSGNN.embed_rows (atomic convolutions once per interface, each row's attention and pooling on
    its own interface) gives what embed gives on samples that carry their interface themselves."""
    model = _model(samples[0])
    interfaces, rows = [samples[0], samples[1]], torch.tensor([0, 1, 0])
    micrographs = samples[2:5]
    joined = []
    for r, f in zip(rows.tolist(), micrographs):
        s = interfaces[r].clone()
        s["facet"].x = f["facet"].x
        s["facet", "adj", "facet"].edge_index = f["facet", "adj", "facet"].edge_index
        s["facet", "adj", "facet"].edge_attr = f["facet", "adj", "facet"].edge_attr
        joined.append(s)
    with torch.no_grad():
        shared = model.embed_rows(Batch.from_data_list(interfaces), Batch.from_data_list(micrographs), rows)
        whole = model.embed(Batch.from_data_list(joined))
    torch.testing.assert_close(shared, whole, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(shared[0], shared[2])           # same interface, other micrograph
