"""Tuning: GPSampler, SQLite persistence and resume, tuning sees training conditions only, the
worker jobs of tune.workers > 1 and the collecting tune job."""
import dataclasses
import json

import numpy as np
import optuna
import pandas as pd
import pytest
import torch

from msgnn.learn.dataset import build_dataset, load_samples
from msgnn.learn.settings import TrainSettings, TuneScheduling, TuneSettings
from msgnn.learn.train import run_training
from msgnn.learn.trials import open_storage
from msgnn.learn.tune import inner_cv_rmse, plan_tuning, run_tuning, run_worker, search_space, storage_for, tune_split
from msgnn.settings import schema_defaults
from toy import toy_inputs

TRAIN = TrainSettings.defaults(epochs=2, hidden=8, layers_per_scale=1, attention_dim=4, lr=0.01, batch_size=8,
                               weight_decay=1e-6, lr_decay=0.97, folds=3, device="cpu")
SCHEDULING = TuneScheduling.defaults()


def tune_settings(tmp_path, **changes) -> TuneSettings:
    """A small study: 2 startup trials, 1 epoch, inner 2 folds, SQLite under tmp_path."""
    return TuneSettings.defaults(**{**dict(n_trials=3, epochs=1, storage=f"sqlite:///{tmp_path}/study.db",
                                           study_name="m", inner_folds=2, n_startup_trials=2,
                                           outer_splits=["group_kfold"]), **changes})


def test_tune_section_splits_into_what_studies_compute_and_how_trials_are_scheduled():
    fields = [{f.name for f in dataclasses.fields(c)} for c in (TuneSettings, TuneScheduling)]
    assert not fields[0] & fields[1] and fields[0] | fields[1] == set(schema_defaults("tune"))
    assert fields[1] == {"workers", "heartbeat_interval_s", "grace_period_s", "max_retry", "journal_lock"}
    assert {f.name for f in dataclasses.fields(TrainSettings)} == set(schema_defaults("train"))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    temps = {"Al": [780, 830, 880], "Cu": [1150, 1230, 1290]}
    ins = toy_inputs(root, temps, n_snapshots=2, n_images=1, n_atoms=15)
    out = root / "ds"
    build_dataset(ins, out / "samples.pt", out / "targets.csv", out / "splits.json", folds=3, seed=3)
    return out


def test_study_uses_gpsampler_and_resumes_from_sqlite(dataset, tmp_path):
    plan = plan_tuning(dataset / "samples.pt", dataset / "splits.json", model="msgnn", train=TRAIN,
                       tune=tune_settings(tmp_path / "sub", n_trials=2), scheduling=SCHEDULING, seed=0)
    job = plan.jobs[0]
    storage = open_storage(plan.tune.storage, SCHEDULING)
    s1, ran = tune_split(plan, job, storage)
    assert isinstance(s1.sampler, optuna.samplers.GPSampler)
    first = [(t.number, t.params, t.value) for t in s1.trials]
    assert len(first) == 2 and [t.number for t in ran] == [0, 1] and (tmp_path / "sub" / "study.db").exists()
    # a second run with a larger budget adds trials on top of the stored ones
    more = dataclasses.replace(plan, tune=plan.tune.replace(n_trials=3))
    s2, ran = tune_split(more, job, storage)
    assert [(t.number, t.params, t.value) for t in s2.trials][:2] == first
    assert len(s2.trials) == 3 and [t.number for t in ran] == [2]
    # the same budget again runs nothing: finished trials count towards n_trials
    s3, ran = tune_split(more, job, storage)
    assert len(s3.trials) == 3 and ran == []
    # trial 2 came from the GP (past the 2 startup trials): it is within the search space
    p = s2.trials[2].params
    assert 1e-4 <= p["lr"] <= 3e-2 and 1 <= p["layers_per_scale"] <= 3


def test_objective_never_touches_outer_test_conditions(dataset):
    samples = load_samples(dataset / "samples.pt")
    splits = json.loads((dataset / "splits.json").read_text())
    e = splits["group_kfold"][0]
    v1 = inner_cv_rmse("svr", samples, e["train"], {"C": 1.0, "epsilon": 0.1, "gamma": "scale"},
                       inner_folds=2, seed=0)
    for i in e["test"]:                # poison the outer test samples
        samples[i].y = samples[i].y * np.nan
        samples[i]["atom"].x = samples[i]["atom"].x * np.nan
    v2 = inner_cv_rmse("svr", samples, e["train"], {"C": 1.0, "epsilon": 0.1, "gamma": "scale"},
                       inner_folds=2, seed=0)
    assert np.isfinite(v1) and v1 == v2


def test_run_tuning_and_tuned_training(dataset, tmp_path):
    torch.set_num_threads(1)
    tune = tune_settings(tmp_path)
    for model in ("svr", "mlp"):
        best = run_tuning(dataset / "samples.pt", dataset / "splits.json", tmp_path / model / "bp.json",
                          tmp_path / model / "hist.csv", model=model, train=TRAIN, tune=tune,
                          scheduling=SCHEDULING, seed=1, loss_history_path=tmp_path / model / "losses.csv")
        assert best["storage"] == storage_for(tune.storage, model)
        assert set(best["splits"]) == {"group_kfold/fold0", "group_kfold/fold1", "group_kfold/fold2"}
        h = pd.read_csv(tmp_path / model / "hist.csv")
        assert len(h) == 9
        for _, g in h.groupby("fold"):
            assert (np.diff(g["best_so_far"]) <= 0).all()
            assert g["best_so_far"].iloc[-1] == g["value"].min()
        for key, v in best["splits"].items():
            assert v["value"] == h[h.fold == key.split("/")[1]]["value"].min()
        # every trial's loss per epoch (mean over its inner folds); the SVR has no epochs
        losses = pd.read_csv(tmp_path / model / "losses.csv")
        if model == "svr":
            assert losses.empty and list(losses.columns)[:4] == ["split", "fold", "trial", "epoch"]
        else:
            assert len(losses) == 9 * tune.epochs and losses[["train_loss", "val_loss"]].notna().all().all()
            study = optuna.load_study(study_name=best["splits"]["group_kfold/fold0"]["study_name"],
                                      storage=best["storage"])
            assert all(len(t.intermediate_values) == tune.epochs and len(t.user_attrs["train_loss"]) == tune.epochs
                       for t in study.trials)   # what optuna-dashboard plots as intermediate values
    assert (tmp_path / "study_svr.db").exists() and (tmp_path / "study_mlp.db").exists()
    m = run_training(dataset / "samples.pt", dataset / "splits.json", tmp_path / "t" / "metrics.json",
                     tmp_path / "t" / "pred.csv", model="svr_tuned", train=TRAIN, seed=1,
                     best_params_path=tmp_path / "svr" / "bp.json")
    assert m["tuned_splits"] == ["group_kfold"] and "leave_one_material_out" not in m
    assert m["params_per_split"]["group_kfold/fold1"]["C"] == best_svr_C(tmp_path, "fold1")


def best_svr_C(tmp_path, fold):
    return json.loads((tmp_path / "svr" / "bp.json").read_text())["splits"][f"group_kfold/{fold}"]["params"]["C"]


def test_search_space_covers_the_documented_dimensions():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    p = search_space(study.ask(), "msgnn")
    assert set(p) == {"layers_per_scale", "hidden", "attention_dim", "lr", "batch_size",
                      "weight_decay", "lr_decay"}
    assert storage_for("sqlite:///results/tune/study.db", "mlp") == "sqlite:///results/tune/study_mlp.db"
    assert storage_for("sqlite:///results/tune/study.db", "msgnn") == "sqlite:///results/tune/study.db"


def test_changed_data_starts_a_fresh_study_same_data_resumes(dataset, tmp_path):
    kw = dict(model="svr", train=TRAIN, tune=tune_settings(tmp_path, n_trials=2), scheduling=SCHEDULING, seed=1)
    first = run_tuning(dataset / "samples.pt", dataset / "splits.json", tmp_path / "a.json", tmp_path / "a.csv", **kw)
    again = run_tuning(dataset / "samples.pt", dataset / "splits.json", tmp_path / "b.json", tmp_path / "b.csv", **kw)
    assert again["objective_fingerprint"] == first["objective_fingerprint"]
    assert pd.read_csv(tmp_path / "b.csv").equals(pd.read_csv(tmp_path / "a.csv"))   # resumed: no new trial
    splits = json.loads((dataset / "splits.json").read_text())
    splits["group_kfold"] = splits["group_kfold"][::-1]                               # other data, same names
    (tmp_path / "splits.json").write_text(json.dumps(splits))
    other = run_tuning(dataset / "samples.pt", tmp_path / "splits.json", tmp_path / "c.json", tmp_path / "c.csv", **kw)
    assert other["objective_fingerprint"] != first["objective_fingerprint"]
    names = optuna.get_all_study_names(first["storage"])
    assert len(names) == 6 and all(n.endswith(first["objective_fingerprint"]) or n.endswith(other["objective_fingerprint"])
                                   for n in names)
    assert all(v["n_complete"] == 2 for v in other["splits"].values())


def test_workers_fill_the_studies_and_the_tune_rule_collects_them(dataset, tmp_path):
    """The workflow path with tune.workers = 2 (run here one after the other; the concurrent case
    is in test_tune_distributed.py): worker 0 fills every study, worker 1 finds nothing left to
    run, and the collecting tune job writes the outputs without running a trial."""
    kw = dict(model="svr", train=TRAIN, tune=tune_settings(tmp_path, storage=f"journal:///{tmp_path}/study.log"),
              scheduling=SCHEDULING.replace(workers=2, heartbeat_interval_s=5, grace_period_s=15), seed=1,
              lock_dir=tmp_path / "locks")
    w0 = run_worker(dataset / "samples.pt", dataset / "splits.json", tmp_path / "w0.json", worker=0, **kw)
    w1 = run_worker(dataset / "samples.pt", dataset / "splits.json", tmp_path / "w1.json", worker=1, **kw)
    assert json.loads((tmp_path / "w0.json").read_text()) == json.loads(json.dumps(w0))
    for key in ("group_kfold/fold0", "group_kfold/fold1", "group_kfold/fold2"):
        assert [t["number"] for t in w0["splits"][key]["trials_run_here"]] == [0, 1, 2]
        assert w1["splits"][key]["trials_run_here"] == [] and w1["splits"][key]["study_complete"] == 3
    kw.pop("lock_dir")
    best = run_tuning(dataset / "samples.pt", dataset / "splits.json", tmp_path / "bp.json", tmp_path / "h.csv", **kw)
    h = pd.read_csv(tmp_path / "h.csv")
    assert len(h) == 9 and set(h["worker"]) == {0} and h["retried_from"].isna().all()
    assert best["workers"] == 2 and all(v["n_complete"] == 3 and v["n_failed"] == 0 for v in best["splits"].values())
    assert not list((tmp_path / "locks").glob("*.lock"))                 # every reservation was released
