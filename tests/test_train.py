"""Training: loss goes down on a learnable problem, held-out skill, determinism, metrics maths."""
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from msgnn.learn.dataset import TARGETS, build_dataset, load_samples
from msgnn.learn.model import descriptors
from msgnn.learn.settings import TrainSettings
from msgnn.learn.train import (TORCH_KEYS, Standardizer, condition_table, cross_validate, fit_mlp, fit_msgnn,
                               fit_predict, mean_ci95, model_params, resolve_device, rmse_by_target,
                               run_training)
from toy import toy_inputs

PARAMS = dict(epochs=40, hidden=16, layers_per_scale=1, attention_dim=8, lr=0.01, batch_size=8,
              weight_decay=1e-6, lr_decay=0.97)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    temps = {"Al": [760, 800, 840, 880, 910], "Cu": [1100, 1160, 1220, 1280]}
    ins = toy_inputs(root, temps, n_snapshots=2, n_images=2, n_atoms=20)
    out = root / "ds"
    build_dataset(ins, out / "samples.pt", out / "targets.csv", out / "splits.json", folds=3, seed=3)
    return out


@pytest.fixture(scope="module")
def samples(dataset):
    return load_samples(dataset / "samples.pt")


def test_msgnn_training_drives_the_loss_down(samples):
    torch.set_num_threads(1)
    st = Standardizer().fit(samples)
    model, losses = fit_msgnn([st.transform(s) for s in samples], PARAMS, seed=0)
    assert losses[-1] < 0.1 * losses[0]
    # the targets are functions of the inputs: in-sample fit far better than the mean predictor
    from msgnn.learn.train import predict_msgnn
    pred = st.inverse_y(predict_msgnn(model, [st.transform(s) for s in samples]))
    y = torch.cat([s.y for s in samples]).numpy()
    assert np.sqrt(((pred - y) ** 2).mean(0)).max() < 0.3 * y.std(0).min()


def test_mlp_training_drives_the_loss_down():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 5))
    y = np.stack([X[:, 0] + X[:, 1], np.tanh(X[:, 2]), X[:, 3] * 0.5], 1)
    _, losses = fit_mlp(X, y, dict(PARAMS, epochs=60, hidden=32, mlp_layers=2), seed=0)
    assert losses[-1] < 0.1 * losses[0]


@pytest.mark.parametrize("model", ["msgnn", "mlp"])
def test_loss_history_has_one_row_per_epoch_and_the_train_loss_falls(samples, dataset, model, tmp_path):
    """run_training records, per fold and epoch, the training and validation loss; recording
    them changes no prediction."""
    torch.set_num_threads(1)
    train = TrainSettings.defaults(**{**PARAMS, "epochs": 30}, folds=3, device="cpu")
    m = run_training(dataset / "samples.pt", dataset / "splits.json", tmp_path / "metrics.json",
                     tmp_path / "pred.csv", model=model, train=train, seed=2,
                     loss_history_path=tmp_path / "hist.csv", loss_curve_path=tmp_path / "curve.csv")
    hist, curve = pd.read_csv(tmp_path / "hist.csv"), pd.read_csv(tmp_path / "curve.csv")
    folds = {(k, f["name"]) for k in ("group_kfold", "leave_one_material_out") for f in m.get(k, {}).get("folds", [])}
    assert set(zip(hist["split"], hist["fold"])) == folds
    for _, g in hist.groupby(["split", "fold"]):
        assert list(g["epoch"]) == list(range(30))           # one row per epoch
        assert g["val_loss"].notna().all()
        assert g["train_loss"].iloc[-1] < 0.3 * g["train_loss"].iloc[0]
    assert list(curve["epoch"]) == list(range(30))
    gk = hist[hist["split"] == "group_kfold"]
    assert np.allclose(curve["train_loss"], gk.groupby("epoch")["train_loss"].mean())
    assert curve["train_loss"].is_monotonic_decreasing or curve["train_loss"].iloc[-1] < 0.3 * curve["train_loss"].iloc[0]
    # the fit with the history is the fit without it
    params = dict(PARAMS, epochs=3, mlp_layers=2)
    rows = []
    a = fit_predict(model, samples, range(0, 12), range(12, 18), params, seed=5, history=rows)
    b = fit_predict(model, samples, range(0, 12), range(12, 18), params, seed=5)
    np.testing.assert_array_equal(a, b)
    assert [r["epoch"] for r in rows] == [0, 1, 2]


def test_models_without_epochs_write_an_empty_loss_history(dataset, tmp_path):
    train = TrainSettings.defaults(**PARAMS, folds=3, device="cpu")
    run_training(dataset / "samples.pt", dataset / "splits.json", tmp_path / "metrics.json", tmp_path / "pred.csv",
                 model="svr", train=train, seed=2, loss_history_path=tmp_path / "h.csv", loss_curve_path=tmp_path / "c.csv")
    assert pd.read_csv(tmp_path / "h.csv").empty and list(pd.read_csv(tmp_path / "c.csv").columns) == [
        "epoch", "train_loss", "val_loss"]


def test_msgnn_beats_the_mean_predictor_on_held_out_conditions(samples, dataset):
    splits = json.loads((dataset / "splits.json").read_text())
    m_gnn, _ = cross_validate(samples, splits, "msgnn", PARAMS, seed=1, kinds=("group_kfold",))
    m_mean, _ = cross_validate(samples, splits, "mean", {}, seed=1, kinds=("group_kfold",))
    assert m_gnn["rmse_mean_over_targets"] < 0.7 * m_mean["rmse_mean_over_targets"]


def test_training_is_deterministic(samples):
    a = fit_predict("msgnn", samples, range(0, 12), range(12, 18), dict(PARAMS, epochs=3), seed=5)
    b = fit_predict("msgnn", samples, range(0, 12), range(12, 18), dict(PARAMS, epochs=3), seed=5)
    np.testing.assert_array_equal(a, b)
    c = fit_predict("mlp", samples, range(0, 12), range(12, 18), dict(PARAMS, epochs=3, mlp_layers=2), seed=5)
    d = fit_predict("mlp", samples, range(0, 12), range(12, 18), dict(PARAMS, epochs=3, mlp_layers=2), seed=5,
                    X=descriptors(samples))
    np.testing.assert_array_equal(c, d)     # the descriptor matrix given or computed: the same fit


def test_descriptor_baselines_fit_on_the_rows_of_their_split(samples):
    """The descriptor matrix of the whole dataset is passed once; a fit uses the rows of its
    training and test indices: the same as the matrices of those samples alone."""
    svr = {"C": 1.0, "epsilon": 0.1, "gamma": "scale"}
    train, test = [7, 3, 12, 0, 15, 9, 1, 16], [4, 17, 2]
    a = fit_predict("svr", samples, train, test, svr, seed=0, X=descriptors(samples))
    sub = [samples[i] for i in train + test]
    b = fit_predict("svr", sub, range(len(train)), range(len(train), len(sub)), svr, seed=0)
    np.testing.assert_array_equal(a, b)


def test_mean_predictor_predicts_training_mean(samples):
    pred = fit_predict("mean", samples, range(0, 10), range(10, 14), {}, seed=0)
    y = torch.cat([s.y for s in samples[:10]]).numpy()
    np.testing.assert_allclose(pred, np.tile(y.mean(0), (4, 1)), rtol=1e-6)


def test_condition_scoring_and_confidence_interval(samples):
    idx = [0, 1, 2, 3]                 # two conditions, two samples each
    y = torch.cat([samples[i].y for i in idx]).numpy()
    pred = y.copy()
    pred[0] += 1.0                     # sample 0 off by +1, sample 1 exact: condition mean off 0.5
    tab = condition_table(samples, idx, pred)
    assert len(tab) == 2 * len(TARGETS) and (tab["n_samples"] == 2).all()
    r = rmse_by_target(tab)
    for t in TARGETS:                  # errors 0.5 and 0 over two conditions
        assert r[t] == pytest.approx(math.sqrt(0.5 ** 2 / 2))
    m, ci = mean_ci95([1.0, 2.0, 3.0])
    assert m == 2.0
    assert ci[1] == pytest.approx(2 + 4.302652729911275 / math.sqrt(3))
    assert ci[0] == 0.0                # clipped: an RMSE is non-negative
    assert mean_ci95([0.5])[1] is None


def test_run_training_writes_contract_files(dataset, tmp_path):
    train = TrainSettings.defaults(**dict(PARAMS, epochs=2, folds=3))
    for model in ("mean", "svr", "msgnn"):
        m = run_training(dataset / "samples.pt", dataset / "splits.json", tmp_path / model / "metrics.json",
                         tmp_path / model / "predictions.csv", model=model, train=train, seed=1)
        d = json.loads((tmp_path / model / "metrics.json").read_text())
        assert set(d["rmse"]) == set(TARGETS) and set(d["ci95"]) == set(TARGETS)
        assert d["synthetic"] is True and d["units"] == "log10"
        assert len(d["group_kfold"]["folds"]) == 3
        assert [f["name"] for f in d["leave_one_material_out"]["folds"]] == ["Al", "Cu"]
        p = pd.read_csv(tmp_path / model / "predictions.csv")
        assert {"condition", "target", "true", "predicted"} <= set(p.columns)
        gk = p[p.split == "group_kfold"]
        assert gk["condition"].nunique() == 9 and len(gk) == 27  # every condition tested once
        assert m["params"] == model_params(model, train)
    assert model_params("svr", train) == {"C": 1.0, "epsilon": 0.1, "gamma": "scale"}
    assert model_params("mlp", train) == {**{k: getattr(train, k) for k in TORCH_KEYS}, "mlp_layers": 2}
    assert model_params("msgnn", train) == dict(PARAMS, epochs=2)
    assert resolve_device("auto").type in {"cpu", "cuda"}
