"""Dataset: joining the scales per condition, targets, conditions vector, errors, grouped splits."""
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_geometric.data import HeteroData

from msgnn.learn.dataset import (COND_FEATURES, TARGETS, build_dataset, build_samples, load_samples,
                           make_splits)
from msgnn.errors import InputFileError
from msgnn.learn.model.toy import toy_inputs, toy_targets, write_toy_condition
from msgnn.learn.train import Standardizer

TEMPS = {"Al": [800, 850, 900], "Cu": [1150, 1250]}


@pytest.fixture()
def inputs(tmp_path):
    return toy_inputs(tmp_path, TEMPS, n_snapshots=3, n_images=2, n_atoms=30)


def test_samples_join_scales_and_pair_snapshots_with_images(inputs):
    samples, targets = build_samples(inputs)
    # max(3 snapshots, 2 images) samples per condition
    assert len(samples) == 3 * len(inputs)
    s = samples[0]
    assert isinstance(s, HeteroData)
    assert set(s.node_types) == {"atom", "cluster", "facet"}
    assert set(s.edge_types) == {("atom", "bond", "atom"), ("atom", "in", "cluster"),
                                 ("cluster", "near", "cluster"), ("facet", "adj", "facet")}
    g = torch.load(inputs[0].atomic_graphs, weights_only=True)
    f = torch.load(inputs[0].facets, weights_only=True)
    # pooling edges: one per atom, to the atom's cluster
    pool = s["atom", "in", "cluster"].edge_index
    assert torch.equal(pool[0], torch.arange(s["atom"].num_nodes))
    assert torch.equal(pool[1], g[0]["atom_cluster"])
    # sample 2 pairs snapshot 2 with image 0 (images cycle)
    assert samples[2].snapshot_index == 2 and samples[2].image_index == 0
    # (column 0 is area_m2, stored as log10)
    torch.testing.assert_close(samples[2]["facet"].x[:, 0], torch.log10(f[0]["facet_x"][:, 0]))
    assert torch.equal(samples[2]["facet"].x[:, 1:], f[0]["facet_x"][:, 1:])
    assert torch.equal(samples[1]["facet"].x[:, 1:], f[1]["facet_x"][:, 1:])
    assert torch.equal(samples[2]["atom"].x, g[2]["atom_x"])
    assert len(targets) == len(inputs) and targets["synthetic"].all()


def test_targets_and_conditions_vector_are_the_documented_log10_quantities(inputs):
    samples, targets = build_samples(inputs)
    ci = inputs[1]
    run = json.loads(open(ci.md_run).read())
    meas = json.loads(open(ci.measurements).read())
    reac = json.loads(open(ci.reactor).read())
    s = next(x for x in samples if x.condition == ci.name)
    expect_y = [math.log10(run["velocity_m_per_s"]), math.log10(meas["nucleation_density_per_m2"]),
                math.log10(meas["mean_grain_size_m"])]
    np.testing.assert_allclose(s.y[0].numpy(), expect_y, rtol=1e-6)
    T, Tm = ci.temperature_K, ci.melting_point_K
    expect_c = [T / Tm, (Tm - T) / Tm, math.log10(reac["growth_rate_m_per_s"]),
                math.log10(reac["nucleation_rate_per_m3_s"]), math.log10(reac["residence_time_s"])]
    np.testing.assert_allclose(s.cond[0].numpy(), expect_c, rtol=1e-6)
    row = targets.set_index("condition").loc[ci.name]
    np.testing.assert_allclose(row[TARGETS].to_numpy(float), expect_y, rtol=1e-9)
    np.testing.assert_allclose(row[COND_FEATURES].to_numpy(float), expect_c, rtol=1e-9)
    # physics of the toy inputs: faster growth at deeper undercooling
    al = targets[targets.material == "Al"].sort_values("temperature_K")
    assert al["growth_rate"].is_monotonic_decreasing


def test_build_dataset_writes_three_files(inputs, tmp_path):
    out = tmp_path / "ds"
    build_dataset(inputs, out / "samples.pt", out / "targets.csv", out / "splits.json", folds=3, seed=1)
    samples = load_samples(out / "samples.pt")
    assert len(samples) == 15
    assert list(pd.read_csv(out / "targets.csv")["condition"]) == [c.name for c in inputs]
    splits = json.loads((out / "splits.json").read_text())
    assert splits["synthetic"] is True and len(splits["group_kfold"]) == 3
    assert [e["name"] for e in splits["leave_one_material_out"]] == ["Al", "Cu"]


def _rewrite_json(path, **changes):
    d = json.loads(open(path).read())
    d.update(changes)
    open(path, "w").write(json.dumps(d))


@pytest.mark.parametrize("which,key,value,needle", [
    ("measurements", "nucleation_density_per_m2", 0.0, "nucleation_density_per_m2"),
    ("measurements", "mean_grain_size_m", "big", "mean_grain_size_m"),
    ("reactor", "growth_rate_m_per_s", -1.0, "growth_rate_m_per_s"),
    ("md_run", "velocity_m_per_s", float("nan"), "velocity_m_per_s"),
])
def test_bad_json_values_raise_typed_error_naming_file_and_key(inputs, which, key, value, needle):
    path = getattr(inputs[2], which)
    d = json.loads(open(path).read())
    d[key] = value
    open(path, "w").write(json.dumps(d, allow_nan=True))
    with pytest.raises(InputFileError) as e:
        build_samples(inputs)
    assert str(path) in str(e.value) and needle in str(e.value)


def test_missing_key_and_missing_file(inputs):
    d = json.loads(open(inputs[0].reactor).read())
    del d["residence_time_s"]
    open(inputs[0].reactor, "w").write(json.dumps(d))
    with pytest.raises(InputFileError, match="residence_time_s"):
        build_samples(inputs)
    inputs[1].facets.unlink()
    with pytest.raises(InputFileError, match="not found"):
        build_samples(inputs[1:])


def test_bad_graphs_raise_typed_error(inputs):
    g = torch.load(inputs[0].atomic_graphs, weights_only=True)
    g[1]["atom_cluster"][0] = 99  # a cluster that does not exist
    torch.save(g, inputs[0].atomic_graphs)
    with pytest.raises(InputFileError, match="entry 1: 'atom_cluster'"):
        build_samples(inputs)
    f = torch.load(inputs[1].facets, weights_only=True)
    f[0]["facet_x"] = torch.cat([f[0]["facet_x"], f[0]["facet_x"]], 1)  # other feature width
    torch.save(f, inputs[1].facets)
    with pytest.raises(InputFileError, match="feature widths"):
        build_samples(inputs[1:])


def test_velocity_within_noise_of_zero_is_floored_and_flagged(inputs):
    _rewrite_json(inputs[0].md_run, velocity_m_per_s=-0.01, stderr_m_per_s=0.05)
    samples, targets = build_samples(inputs)
    assert targets.loc[0, "growth_rate_floored"]
    assert targets.loc[0, "growth_rate"] == pytest.approx(math.log10(0.05))


def _check_splits(splits, samples):
    cond = np.array([s.condition for s in samples])
    seen = []
    for e in splits["group_kfold"]:
        assert not set(cond[e["train"]]) & set(cond[e["test"]])
        assert sorted(e["train"] + e["test"]) == list(range(len(samples)))
        seen += e["test"]
    assert sorted(seen) == list(range(len(samples)))   # every sample tested exactly once
    for e in splits["leave_one_material_out"]:
        mats = {samples[i].material for i in e["test"]}
        assert mats == {e["name"]}
        assert e["name"] not in {samples[i].material for i in e["train"]}


def test_grouped_splits_never_share_a_condition(inputs):
    samples, _ = build_samples(inputs)
    splits = make_splits(samples, folds=3, seed=5)
    _check_splits(splits, samples)
    assert splits == make_splits(samples, folds=3, seed=5)  # deterministic


class _S:  # the split code only reads .condition and .material
    def __init__(self, c, m):
        self.condition, self.material = c, m


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5), st.integers(1, 4)), min_size=2,
                max_size=12, unique_by=lambda t: (t[0], t[1])),
       st.integers(2, 5), st.integers(0, 1000))
def test_grouped_splits_property(conds, folds, seed):
    samples = [_S(f"M{m}/T{t}", f"M{m}") for m, t, n in conds for _ in range(n)]
    splits = make_splits(samples, folds=folds, seed=seed)
    assert len(splits["group_kfold"]) == min(folds, len(conds))
    _check_splits(splits, samples)


def test_standardisation_uses_training_statistics_only(inputs):
    samples, _ = build_samples(inputs)
    train, test = samples[:9], samples[9:]
    st1 = Standardizer().fit(train)
    xs = torch.cat([st1.transform(s)["atom"].x for s in train])
    np.testing.assert_allclose(xs.mean(0).numpy(), 0, atol=1e-4)
    np.testing.assert_allclose(xs.std(0, unbiased=False).numpy(), 1, atol=1e-3)
    # changing the test samples changes nothing in the statistics
    for s in test:
        s["atom"].x = s["atom"].x * 100 + 7
    st2 = Standardizer().fit(train)
    for k in st1.stats:
        assert all(torch.equal(a, b) for a, b in zip(st1.stats[k], st2.stats[k]))
    # and the raw samples are not modified by transform
    before = train[0]["atom"].x.clone()
    st1.transform(train[0])
    assert torch.equal(train[0]["atom"].x, before)


def test_toy_physics_is_consistent():
    t1, t2 = toy_targets("Al", 800), toy_targets("Al", 900)
    assert t1["velocity_m_per_s"] > t2["velocity_m_per_s"] > 0
    assert t1["mean_grain_size_m"] == pytest.approx(t1["nucleation_density_per_m2"] ** -0.5)


def test_si_lengths_and_areas_of_facets_become_log10(tmp_path):
    ci = write_toy_condition(tmp_path, "Al", 850, n_snapshots=1, n_images=1, n_atoms=20)
    f = torch.load(ci.facets, weights_only=True)
    area = torch.rand(len(f[0]["facet_x"])) * 1e-14 + 1e-16
    f[0]["facet_x"] = torch.stack([area, f[0]["facet_x"][:, 1]], 1)
    f[0]["feature_names"] = {"facet_x": ["area_m2", "orientation_rad"], "facet_edge_attr": ["boundary_length_m"]}
    torch.save(f, ci.facets)
    s = build_samples([ci])[0][0]
    torch.testing.assert_close(s["facet"].x[:, 0], torch.log10(area))
    torch.testing.assert_close(s["facet"].x[:, 1], f[0]["facet_x"][:, 1])
    torch.testing.assert_close(s["facet", "adj", "facet"].edge_attr[:, 0],
                               torch.log10(f[0]["facet_edge_attr"][:, 0]))


def test_standardisation_keeps_tiny_si_features():
    from torch_geometric.data import HeteroData as HD
    out = []
    for k in range(4):
        d = HD()
        for nt in ("atom", "cluster", "facet"):
            d[nt].x = torch.tensor([[1e-14 * (k + 1)], [3e-14 * (k + 1)]])
        for et in (("atom", "bond", "atom"), ("facet", "adj", "facet")):
            d[et].edge_attr = torch.tensor([[5.0], [5.0]])   # truly constant column
        d.cond, d.y = torch.ones(1, 2), torch.ones(1, 3) * k
        out.append(d)
    st_ = Standardizer().fit(out)
    x = torch.cat([st_.transform(d)["facet"].x for d in out])
    assert x.std(unbiased=False).item() == pytest.approx(1.0, rel=1e-3)
    e = torch.cat([st_.transform(d)["atom", "bond", "atom"].edge_attr for d in out])
    assert torch.equal(e, torch.zeros_like(e))


def test_hrtem_cluster_features_are_appended_and_checked(tmp_path):
    """The HRTEM crystallinity of each nanoscale cluster joins the cluster features; a file with
    the wrong number of snapshots or clusters is an error naming it."""
    import torch
    from msgnn.learn.dataset import add_hrtem_cluster_features
    from msgnn.errors import InputFileError
    g = {"cluster_x": torch.zeros(5, 3), "feature_names": {"cluster_x": ["a", "b", "c"]}}
    f = torch.arange(10, dtype=torch.float32).reshape(5, 2)
    torch.save({"cluster_x": [f], "feature_names": ["hrtem_crystallinity", "hrtem_fringe_strength"]},
               tmp_path / "ok.pt")
    (out,) = add_hrtem_cluster_features([g], tmp_path / "ok.pt")
    assert out["cluster_x"].shape == (5, 5) and torch.equal(out["cluster_x"][:, 3:], f)
    assert out["feature_names"]["cluster_x"][-1] == "hrtem_fringe_strength"
    torch.save({"cluster_x": [f[:4]]}, tmp_path / "rows.pt")
    with pytest.raises(InputFileError, match="rows.pt.*shape"):
        add_hrtem_cluster_features([g], tmp_path / "rows.pt")
    with pytest.raises(InputFileError, match="ok.pt.*one tensor per snapshot"):
        add_hrtem_cluster_features([g, g], tmp_path / "ok.pt")
