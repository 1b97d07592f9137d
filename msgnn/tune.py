"""Bayesian hyperparameter tuning with Optuna's GPSampler (Gaussian process, log expected improvement).

Tuning happens inside the training data of each outer split only: for every outer split (the
GroupKFold folds and, optionally, the leave-one-material-out folds of splits.json) one Optuna
study is run whose objective is the mean validation RMSE (log10, over the three targets, scored
per condition) of GroupKFold *inner* folds over that split's training conditions. The outer test
conditions never influence the chosen hyperparameters; the tuned model of a split is then
trained with that split's best parameters (``msgnn_tuned``).

Studies live in persistent storage (``tune.storage``, SQLite by default) under the names
``{study_name}.{model}.{split kind}.{split name}.{fingerprint}`` and are loaded with
``load_if_exists``: a rerun on the same data resumes, and finished trials count towards
``n_trials``. The fingerprint hashes what the objective depends on (the samples and splits files,
the model's base parameters, epochs, inner folds, seed), so trials scored on other data are never
reused: a changed dataset starts fresh studies beside the old ones.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
import zlib
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from sklearn.model_selection import GroupKFold

from msgnn.dataset import TARGETS
from msgnn.train import condition_table, fit_predict, rmse_by_target

log = logging.getLogger(__name__)


def search_space(trial: optuna.Trial, model: str) -> dict:
    """Hyperparameters of one trial. MS-GNN and MLP share the optimiser/schedule dimensions."""
    if model == "svr":
        return {"C": trial.suggest_float("C", 1e-2, 1e3, log=True),
                "epsilon": trial.suggest_float("epsilon", 1e-3, 1.0, log=True),
                "gamma": trial.suggest_float("gamma", 1e-4, 1.0, log=True)}
    p = {"hidden": trial.suggest_int("hidden", 8, 64, log=True)}
    if model == "msgnn":
        p["layers_per_scale"] = trial.suggest_int("layers_per_scale", 1, 3)
        p["attention_dim"] = trial.suggest_int("attention_dim", 4, 32, log=True)
    elif model == "mlp":
        p["mlp_layers"] = trial.suggest_int("mlp_layers", 1, 3)
    else:
        raise ValueError(f"no search space for model {model!r}")
    p["lr"] = trial.suggest_float("lr", 1e-4, 3e-2, log=True)
    p["batch_size"] = trial.suggest_categorical("batch_size", [4, 8, 16])
    p["weight_decay"] = trial.suggest_float("weight_decay", 1e-7, 1e-2, log=True)
    p["lr_decay"] = trial.suggest_float("lr_decay", 0.9, 1.0)
    return p


def inner_cv_rmse(model: str, samples, train_idx, params: dict, *, inner_folds: int, seed: int,
                  device="cpu") -> float:
    """Mean over inner GroupKFold folds (by condition, within `train_idx`) and over targets of the
    validation RMSE (log10, per condition)."""
    train_idx = np.asarray(train_idx)
    groups = np.array([samples[i].condition for i in train_idx])
    k = min(inner_folds, len(set(groups)))
    if k < 2:
        raise ValueError("need at least 2 training conditions for inner folds")
    gkf = GroupKFold(n_splits=k, shuffle=True, random_state=seed % (2 ** 32))
    scores = []
    for f, (tr, va) in enumerate(gkf.split(train_idx, groups=groups)):
        pred = fit_predict(model, samples, train_idx[tr], train_idx[va], params, seed=seed + f,
                           device=device)
        r = rmse_by_target(condition_table(samples, train_idx[va], pred))
        scores.append(np.mean([r[t] for t in TARGETS]))
    return float(np.mean(scores))


def storage_for(url: str, model: str) -> str:
    """The storage of `model`'s studies: the configured one for msgnn; for a baseline, a sibling
    SQLite file (``study.db`` -> ``study_mlp.db``) so parallel tuning jobs never share a lock."""
    if model == "msgnn" or not url.startswith("sqlite:///"):
        return url
    path = Path(url.removeprefix("sqlite:///"))
    return "sqlite:///" + str(path.with_name(f"{path.stem}_{model}{path.suffix or '.db'}"))


def _storage(url: str):
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url


def tune_split(samples, train_idx, *, model: str, base_params: dict, n_trials: int, epochs: int,
               storage: str, study_name: str, seed: int, inner_folds: int = 2,
               n_startup_trials: int = 4, device="cpu") -> optuna.Study:
    """Run (or resume) one study until it has `n_trials` finished trials."""
    sampler = optuna.samplers.GPSampler(seed=int(seed) % (2 ** 31), n_startup_trials=n_startup_trials,
                                        deterministic_objective=True)
    study = optuna.create_study(study_name=study_name, storage=_storage(storage), sampler=sampler,
                                direction="minimize", load_if_exists=True)
    study.set_user_attr("model", model)
    study.set_user_attr("objective", "mean inner-GroupKFold validation RMSE over targets (log10)")

    def objective(trial):
        params = {**base_params, **search_space(trial, model)}
        if model != "svr":
            params["epochs"] = int(epochs)
        return inner_cv_rmse(model, samples, train_idx, params, inner_folds=inner_folds,
                             seed=int(seed), device=device)

    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    remaining = max(0, int(n_trials) - done)
    log.info("study %s: %d finished trial(s), running %d more", study_name, done, remaining)
    if remaining:
        study.optimize(objective, n_trials=remaining, catch=(RuntimeError, ValueError))
    return study


def history(study: optuna.Study, kind: str, name: str) -> pd.DataFrame:
    rows, best = [], np.inf
    for t in study.trials:
        if t.state != optuna.trial.TrialState.COMPLETE:
            continue
        best = min(best, t.value)
        dur = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete else None
        rows.append({"split": kind, "fold": name, "trial": t.number, "value": t.value,
                     "best_so_far": best, "duration_s": dur,
                     "params": json.dumps(t.params, sort_keys=True),
                     **{f"param_{k}": v for k, v in t.params.items()}})
    return pd.DataFrame(rows)


def objective_fingerprint(samples_path, splits_path, model: str, base_params: dict, tune_cfg: dict,
                          seed: int) -> str:
    """Short hash of everything a trial's score depends on (see the module docstring)."""
    from msgnn.provenance import sha256
    keys = {k: tune_cfg.get(k) for k in ("epochs", "inner_folds", "n_startup_trials")}
    blob = json.dumps([sha256(samples_path), sha256(splits_path), model, base_params, keys, int(seed)],
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def run_tuning(samples_path, splits_path, best_params_path, history_path, *, model: str,
               train_cfg: dict, tune_cfg: dict, seed: int, threads: int | None = None) -> dict:
    """The `tune` rule: one study per outer split; write best_params.json and history.csv."""
    import torch

    from msgnn.dataset import load_samples
    from msgnn.io import atomic_path, read_json, write_json
    from msgnn.train import SPLIT_KINDS, model_params, resolve_device
    if threads:
        torch.set_num_threads(int(threads))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    samples = load_samples(samples_path)
    splits = read_json(splits_path)
    device = resolve_device(train_cfg.get("device", "auto"))
    base = model_params(model, train_cfg)
    kinds = [k for k in tune_cfg.get("outer_splits", ["group_kfold"]) if k in SPLIT_KINDS]
    fingerprint = objective_fingerprint(samples_path, splits_path, model, base, tune_cfg, seed)
    t0 = time.time()
    out = {"model": model, "sampler": "optuna.samplers.GPSampler (logEI)",
           "objective": "mean inner-GroupKFold validation RMSE over targets (log10 units), "
                        "within the outer split's training conditions only",
           "storage": tune_cfg["storage"], "n_trials": int(tune_cfg["n_trials"]),
           "epochs": int(tune_cfg["epochs"]), "inner_folds": int(tune_cfg.get("inner_folds", 2)),
           "seed": int(seed), "outer_splits": kinds, "objective_fingerprint": fingerprint, "splits": {}}
    hists = []
    for kind in kinds:
        for e in splits.get(kind, []):
            key = f"{kind}/{e['name']}"
            split_seed = (int(seed) + zlib.crc32(f"{model}/{key}".encode())) % (2 ** 31)
            study = tune_split(samples, e["train"], model=model, base_params=base,
                               n_trials=tune_cfg["n_trials"], epochs=tune_cfg["epochs"],
                               storage=tune_cfg["storage"],
                               study_name=f"{tune_cfg['study_name']}.{model}.{kind}.{e['name']}.{fingerprint}",
                               seed=split_seed, inner_folds=int(tune_cfg.get("inner_folds", 2)),
                               n_startup_trials=int(tune_cfg.get("n_startup_trials", 4)),
                               device=device)
            h = history(study, kind, e["name"])
            hists.append(h)
            if len(h):
                bt = study.best_trial
                out["splits"][key] = {"params": bt.params, "value": bt.value, "trial": bt.number,
                                      "n_complete": len(h), "study_name": study.study_name}
                log.info("%s %s: best %.4f with %s", model, key, bt.value, bt.params)
    # one representative set: the split whose best value is lowest (per-split params are what
    # the tuned models use; this is for reference and reuse outside the cross-validation)
    if out["splits"]:
        best_key = min(out["splits"], key=lambda k: out["splits"][k]["value"])
        out["params"] = out["splits"][best_key]["params"]
        out["params_from_split"] = best_key
    out["wall_time_s"] = time.time() - t0
    write_json(best_params_path, out)
    hist = pd.concat(hists, ignore_index=True) if hists else pd.DataFrame()
    with atomic_path(history_path) as tmp:
        hist.to_csv(tmp, index=False)
    return out
