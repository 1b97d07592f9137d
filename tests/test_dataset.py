"""Dataset: joining the scales per condition, targets, conditions vector, errors, grouped splits.

The inputs are real files: tests/data/smoke holds the dataset rule's inputs of a smoke run
(tests/smoke_config.yaml at commit 5f0f1aa: Al 800/870 K, Si 1400/1550 K; the atomic/cluster
graphs, facet graphs, micrograph measurements, reactor kinetics, MD run and HRTEM cluster
features of each condition, as the stage writers wrote them; the facet graphs' feature_names
keys since renamed to the tensor names, facet_x and facet_edge_attr, as the writer spells them
now) and that run's targets.csv and splits.json.
"""
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_geometric.data import HeteroData

from msgnn.errors import InputFileError
from msgnn.learn.dataset import (COND_FEATURES, TARGETS, ConditionInputs, add_hrtem_cluster_features,
                                 build_dataset, build_samples, load_samples, make_splits)
from msgnn.learn.train import Standardizer

SMOKE = Path(__file__).parent / "data" / "smoke"
# (material, temperature_K, reference melting point of tests/smoke_config.yaml), in the rule's order
CONDITIONS = [("Al", 800, 926.0), ("Al", 870, 926.0), ("Si", 1400, 1691.0), ("Si", 1550, 1691.0)]
FOLDS, SEED = 2, 7     # train.folds and seed of the smoke config


def condition_inputs(root: Path) -> list[ConditionInputs]:
    """The dataset rule's inputs under `root`, with the workflow's paths."""
    return [ConditionInputs(material=m, temperature_K=t, melting_point_K=tm,
                            atomic_graphs=root / f"results/graphs/atomic/{m}/T{t}.pt",
                            facets=root / f"results/microscopy/{m}/T{t}/facets.pt",
                            measurements=root / f"results/microscopy/{m}/T{t}/measurements.json",
                            reactor=root / f"results/reactor/{m}/T{t}/kinetics.json",
                            md_run=root / f"results/md/{m}/T{t}/run.json",
                            hrtem_clusters=root / f"results/microscopy/{m}/T{t}/hrtem/cluster_crystallinity.pt")
            for m, t, tm in CONDITIONS]


@pytest.fixture()
def inputs(tmp_path):
    """A copy of the smoke inputs (tests may damage them)."""
    shutil.copytree(SMOKE / "results", tmp_path / "results", ignore=shutil.ignore_patterns("dataset"))
    return condition_inputs(tmp_path)


def _load(path):
    return torch.load(path, weights_only=True)


def _json(path):
    return json.loads(Path(path).read_text())


def test_build_dataset_reproduces_the_smoke_runs_dataset(tmp_path):
    out = tmp_path / "ds"
    build_dataset(condition_inputs(SMOKE), out / "samples.pt", out / "targets.csv", out / "splits.json",
                  folds=FOLDS, seed=SEED)
    for name in ("targets.csv", "splits.json"):
        assert (out / name).read_bytes() == (SMOKE / "results/dataset" / name).read_bytes(), name
    samples = load_samples(out / "samples.pt")
    assert [s.condition for s in samples] == ["Al/T800"] * 2 + ["Al/T870"] * 2 + ["Si/T1400"] * 2 + ["Si/T1550"] * 2


def test_each_sample_joins_the_scales_of_its_condition():
    """Sample k of a condition: MD snapshot k % n_snapshots (atoms, clusters with their HRTEM
    features appended) and micrograph k % n_images (facets; SI lengths and areas as log10)."""
    inputs = condition_inputs(SMOKE)
    samples, targets = build_samples(inputs)
    for ci in inputs:
        graphs, facets = _load(ci.atomic_graphs), _load(ci.facets)
        hrtem = _load(ci.hrtem_clusters)
        mine = [s for s in samples if s.condition == ci.name]
        assert len(mine) == max(len(graphs), len(facets))
        for k, s in enumerate(mine):
            assert isinstance(s, HeteroData) and s.material == ci.material and s.synthetic
            g, f = graphs[k % len(graphs)], facets[k % len(facets)]
            assert (s.snapshot_index, s.image_index) == (k % len(graphs), k % len(facets))
            assert torch.equal(s["atom"].x, g["atom_x"])
            assert s["atom"].x.shape[1] == len(g["feature_names"]["atom_x"])
            assert torch.equal(s["atom", "bond", "atom"].edge_index, g["atom_edge_index"])
            assert torch.equal(s["atom", "bond", "atom"].edge_attr, g["atom_edge_attr"])
            pool = s["atom", "in", "cluster"].edge_index            # one pooling edge per atom
            assert torch.equal(pool, torch.stack([torch.arange(len(g["atom_x"])), g["atom_cluster"]]))
            assert torch.equal(s["cluster", "near", "cluster"].edge_index, g["cluster_edge_index"])
            width = len(g["feature_names"]["cluster_x"])
            assert s["cluster"].x.shape[1] == width + len(hrtem["feature_names"])
            assert torch.equal(s["cluster"].x[:, :width], g["cluster_x"])
            assert torch.equal(s["cluster"].x[:, width:], hrtem["cluster_x"][k % len(graphs)])
            for got, raw, names in ((s["facet"].x, f["facet_x"], f["feature_names"]["facet_x"]),
                                    (s["facet", "adj", "facet"].edge_attr, f["facet_edge_attr"],
                                     f["feature_names"]["facet_edge_attr"])):
                assert got.shape == raw.shape and len(names) == raw.shape[1]
                for c, name in enumerate(names):
                    if name.endswith(("_m", "_m2")):
                        pos = raw[:, c][raw[:, c] > 0]
                        torch.testing.assert_close(got[:, c], torch.log10(raw[:, c].clamp_min(pos.min())))
                    else:
                        assert torch.equal(got[:, c], raw[:, c]), name
            assert torch.equal(s["facet", "adj", "facet"].edge_index, f["facet_edge_index"])
    assert list(targets["n_samples"]) == [2, 2, 2, 2] and targets["synthetic"].all()


def test_images_and_snapshots_cycle_when_their_numbers_differ(inputs):
    facets = _load(inputs[0].facets)
    torch.save(facets[:1], inputs[0].facets)                     # one micrograph, two snapshots
    samples, targets = build_samples(inputs)
    al = [s for s in samples if s.condition == "Al/T800"]
    assert [(s.snapshot_index, s.image_index) for s in al] == [(0, 0), (1, 0)]
    assert targets.loc[0, ["n_samples", "n_snapshots", "n_images"]].tolist() == [2, 2, 1]


def test_targets_and_conditions_vector_are_the_documented_log10_quantities():
    inputs = condition_inputs(SMOKE)
    samples, targets = build_samples(inputs)
    for ci in inputs:
        run, meas, reac = _json(ci.md_run), _json(ci.measurements), _json(ci.reactor)
        assert run["velocity_m_per_s"] > run["stderr_m_per_s"]        # not floored in this run
        expect_y = [math.log10(run["velocity_m_per_s"]), math.log10(meas["nucleation_density_per_m2"]),
                    math.log10(meas["mean_grain_size_m"])]
        T, Tm = ci.temperature_K, ci.melting_point_K
        expect_c = [T / Tm, (Tm - T) / Tm, math.log10(reac["growth_rate_m_per_s"]),
                    math.log10(reac["nucleation_rate_per_m3_s"]), math.log10(reac["residence_time_s"])]
        for s in samples:
            if s.condition == ci.name:
                np.testing.assert_allclose(s.y[0].numpy(), expect_y, rtol=1e-6)
                np.testing.assert_allclose(s.cond[0].numpy(), expect_c, rtol=1e-6)
        row = targets.set_index("condition").loc[ci.name]
        np.testing.assert_allclose(row[TARGETS].to_numpy(float), expect_y, rtol=1e-12)
        np.testing.assert_allclose(row[COND_FEATURES].to_numpy(float), expect_c, rtol=1e-12)
        assert row["growth_rate_m_per_s"] == run["velocity_m_per_s"] and not row["growth_rate_floored"]


def _rewrite_json(path, **changes):
    d = _json(path)
    d.update(changes)
    Path(path).write_text(json.dumps(d, allow_nan=True))


@pytest.mark.parametrize("which,key,value", [
    ("measurements", "nucleation_density_per_m2", 0.0),
    ("measurements", "mean_grain_size_m", "big"),
    ("reactor", "growth_rate_m_per_s", -1.0),
    ("reactor", "residence_time_s", float("inf")),
    ("md_run", "velocity_m_per_s", float("nan")),
])
def test_bad_json_values_raise_typed_error_naming_file_and_key(inputs, which, key, value):
    path = getattr(inputs[2], which)
    _rewrite_json(path, **{key: value})
    with pytest.raises(InputFileError) as e:
        build_samples(inputs)
    assert str(path) in str(e.value) and key in str(e.value)


def test_missing_key_and_missing_file(inputs):
    d = _json(inputs[0].reactor)
    del d["residence_time_s"]
    Path(inputs[0].reactor).write_text(json.dumps(d))
    with pytest.raises(InputFileError, match="residence_time_s"):
        build_samples(inputs)
    inputs[1].facets.unlink()
    with pytest.raises(InputFileError, match="not found"):
        build_samples(inputs[1:])


def test_bad_graphs_raise_typed_error(inputs):
    g = _load(inputs[0].atomic_graphs)
    g[1]["atom_cluster"][0] = 99                                  # a cluster that does not exist
    torch.save(g, inputs[0].atomic_graphs)
    with pytest.raises(InputFileError, match="entry 1: 'atom_cluster'"):
        build_samples(inputs)
    f = _load(inputs[1].facets)
    f[0]["facet_x"] = torch.cat([f[0]["facet_x"], f[0]["facet_x"]], 1)   # other feature width
    torch.save(f, inputs[1].facets)
    with pytest.raises(InputFileError, match="feature widths"):
        build_samples(inputs[1:])


def test_conditions_with_other_feature_widths_are_refused(inputs):
    g = _load(inputs[3].atomic_graphs)
    for d in g:
        d["atom_x"] = d["atom_x"][:, :-1]
    torch.save(g, inputs[3].atomic_graphs)
    with pytest.raises(InputFileError, match=r"T1550.pt.*differ from the other conditions"):
        build_samples(inputs)


def test_velocity_within_noise_of_zero_is_floored_and_flagged(inputs):
    _rewrite_json(inputs[0].md_run, velocity_m_per_s=-0.01, stderr_m_per_s=0.05)
    samples, targets = build_samples(inputs)
    assert targets.loc[0, "growth_rate_floored"] and not targets.loc[1:, "growth_rate_floored"].any()
    assert targets.loc[0, "growth_rate"] == pytest.approx(math.log10(0.05))


def test_hrtem_features_must_match_the_atomic_graphs(inputs):
    """The HRTEM file of the real run carries one (n_clusters, 2) tensor per snapshot; a file
    with another number of snapshots or clusters is an error naming it."""
    d = _load(inputs[0].hrtem_clusters)
    torch.save({**d, "cluster_x": d["cluster_x"][:1]}, inputs[0].hrtem_clusters)
    with pytest.raises(InputFileError, match="cluster_crystallinity.pt.*one tensor per snapshot"):
        build_samples(inputs)
    torch.save({**d, "cluster_x": [x[:-1] for x in d["cluster_x"]]}, inputs[0].hrtem_clusters)
    with pytest.raises(InputFileError, match="cluster_crystallinity.pt.*shape"):
        build_samples(inputs)


def test_hrtem_cluster_features_are_appended_with_their_names(tmp_path):
    g = {"cluster_x": torch.zeros(5, 3), "feature_names": {"cluster_x": ["a", "b", "c"]}}
    f = torch.arange(10, dtype=torch.float32).reshape(5, 2)
    torch.save({"cluster_x": [f], "feature_names": ["hrtem_crystallinity", "hrtem_fringe_strength"]},
               tmp_path / "ok.pt")
    (out,) = add_hrtem_cluster_features([g], tmp_path / "ok.pt")
    assert out["cluster_x"].shape == (5, 5) and torch.equal(out["cluster_x"][:, 3:], f)
    assert out["feature_names"]["cluster_x"] == ["a", "b", "c", "hrtem_crystallinity", "hrtem_fringe_strength"]


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


def test_grouped_splits_never_share_a_condition():
    samples, _ = build_samples(condition_inputs(SMOKE))
    splits = make_splits(samples, folds=FOLDS, seed=SEED)
    _check_splits(splits, samples)
    assert [e["name"] for e in splits["leave_one_material_out"]] == ["Al", "Si"]
    assert splits == make_splits(samples, folds=FOLDS, seed=SEED)  # deterministic


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
    train, test = samples[:4], samples[4:]
    st1 = Standardizer().fit(train)
    xs = torch.cat([st1.transform(s)["facet"].x for s in train])
    np.testing.assert_allclose(xs.mean(0).numpy(), 0, atol=1e-4)
    sd = xs.std(0, unbiased=False).numpy()
    assert np.all((np.abs(sd - 1) < 1e-3) | (sd == 0))          # constant columns are centred only
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


def test_standardisation_keeps_tiny_si_features():
    out = []
    for k in range(4):
        d = HeteroData()
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
