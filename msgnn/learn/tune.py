"""Bayesian hyperparameter tuning with Optuna's GPSampler (Gaussian process, log expected improvement).

Tuning happens inside the training data of each outer split only: for every outer split (the
GroupKFold folds and, optionally, the leave-one-material-out folds of splits.json) one Optuna
study is run whose objective is the mean validation RMSE (log10, over the three targets, scored
per condition) of GroupKFold *inner* folds over that split's training conditions. The outer test
conditions never influence the chosen hyperparameters; the tuned model of a split is then
trained with that split's best parameters (``msgnn_tuned``).

The studies (in ``tune.storage``, shared by ``tune.workers`` workers: :mod:`msgnn.learn.trials`)
are named ``{study_name}.{model}.{split kind}.{split name}.{fingerprint}`` and are loaded with
``load_if_exists``: a rerun on the same data resumes, and finished trials count towards
``n_trials``. The fingerprint hashes what the objective depends on (the samples and splits files,
the model's base parameters, epochs, inner folds, seed), so trials scored on other data are never
reused: a changed dataset starts fresh studies beside the old ones.

Every trial of a torch model records its loss curve: per epoch the validation loss (mean over
the inner folds) as the trial's intermediate values (``trial.report``; optuna-dashboard plots
them), and the training loss as the user attribute ``train_loss``. The tune rules write them to
``loss_history.csv`` beside ``history.csv`` (:func:`loss_history`).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import torch
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState
from sklearn.model_selection import GroupKFold

from msgnn.io import atomic_path, read_json, sha256, write_json
from msgnn.learn.dataset import TARGETS, load_samples
from msgnn.learn.model import descriptors
from msgnn.learn.settings import TrainSettings, TuneScheduling, TuneSettings
from msgnn.learn.train import (DESCRIPTOR_MODELS, SPLIT_KINDS, condition_table, fit_predict, model_params,
                               resolve_device, rmse_by_target)
from msgnn.learn.trials import (open_storage, open_study, parse_storage, requeue_orphans, retried_from,
                                run_trials, trial_counts)

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
                  device="cpu", X=None, history: list | None = None) -> float:
    """Mean over inner GroupKFold folds (by condition, within `train_idx`) and over targets of the
    validation RMSE (log10, per condition). `X`: as for :func:`msgnn.learn.train.fit_predict`.
    ``history``: a list that gets the torch models' loss per inner fold and epoch (rows
    ``{inner_fold, epoch, train_loss, val_loss}``, standardised units)."""
    train_idx = np.asarray(train_idx)
    groups = np.array([samples[i].condition for i in train_idx])
    k = min(inner_folds, len(set(groups)))
    if k < 2:
        raise ValueError("need at least 2 training conditions for inner folds")
    gkf = GroupKFold(n_splits=k, shuffle=True, random_state=seed % (2 ** 32))
    scores = []
    for f, (tr, va) in enumerate(gkf.split(train_idx, groups=groups)):
        rows = [] if history is not None else None
        pred = fit_predict(model, samples, train_idx[tr], train_idx[va], params, seed=seed + f,
                           device=device, X=X, history=rows)
        if rows:
            history.extend({"inner_fold": f, **r} for r in rows)
        r = rmse_by_target(condition_table(samples, train_idx[va], pred))
        scores.append(np.mean([r[t] for t in TARGETS]))
    return float(np.mean(scores))


def storage_for(url: str, model: str) -> str:
    """The storage of `model`'s studies: the configured one for msgnn; for a baseline and a file
    storage, a sibling file (``study.db`` -> ``study_mlp.db``, ``study.log`` -> ``study_mlp.log``)
    so parallel tuning jobs never share a lock. A database server is shared (study names differ)."""
    kind, where = parse_storage(url)
    if model == "msgnn" or (kind == "rdb" and not url.startswith("sqlite:///")):
        return url
    if kind == "rdb":
        where = url.removeprefix("sqlite:///")
    prefix, path = url[: len(url) - len(where)], Path(where)
    suffix = path.suffix or (".db" if kind == "rdb" else ".log")
    return prefix + str(path.with_name(f"{path.stem}_{model}{suffix}"))


@dataclass(frozen=True)
class SplitJob:
    """The study of one outer split: the split, its training samples, the study's name and seed."""
    kind: str
    name: str
    train: list[int]
    study_name: str
    seed: int

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class TuningPlan:
    """What every job of one model's tuning shares (:func:`plan_tuning`)."""
    model: str
    samples: list
    descriptors: np.ndarray | None     # of the samples, for the descriptor baselines
    base_params: dict                  # the model's untuned hyperparameters
    device: object
    tune: TuneSettings                 # tune.storage: this model's storage (storage_for)
    scheduling: TuneScheduling
    kinds: list[str]                   # the outer split kinds tuned
    fingerprint: str
    jobs: list[SplitJob]


def tune_split(plan: TuningPlan, job: SplitJob, storage: BaseStorage, *, worker: int = 0, lock_path=None,
               exclusive: bool = False, wait: bool = True) -> tuple[optuna.Study, list[FrozenTrial]]:
    """Run (or resume, or join as worker `worker`) the study of `job` until it has ``n_trials``
    finished trials; returns the study and the trials run here. ``exclusive``: no other worker can
    be running (the tune rule), so trials left RUNNING by a killed run are re-queued at once; see
    :func:`run_trials` for `lock_path` and `wait`."""
    model, tune = plan.model, plan.tune
    study = open_study(storage, job.study_name, seed=job.seed, n_startup_trials=int(tune.n_startup_trials),
                       worker=worker)
    study.set_user_attr("model", model)
    study.set_user_attr("objective", "mean inner-GroupKFold validation RMSE over targets (log10)")
    if exclusive:
        requeue_orphans(study, plan.scheduling.max_retry)

    current = {}   # the trial being run: run_trials calls suggest(trial), then evaluate(params), one trial at a time

    def suggest(trial):
        current["trial"] = trial
        params = {**plan.base_params, **search_space(trial, model)}
        if model != "svr":
            params["epochs"] = int(tune.epochs)
        return params

    def evaluate(params):
        rows = []
        value = inner_cv_rmse(model, plan.samples, job.train, params, inner_folds=int(tune.inner_folds),
                              seed=int(job.seed), device=plan.device, X=plan.descriptors, history=rows)
        report_losses(current.pop("trial", None), rows)
        return value

    done = trial_counts(study)[TrialState.COMPLETE]
    log.info("study %s: %d finished trial(s) of %d; worker %s joins", job.study_name, done, tune.n_trials, worker)
    ran = run_trials(study, suggest, evaluate, int(tune.n_trials),
                     heartbeat_interval_s=plan.scheduling.heartbeat_interval_s, lock_path=lock_path, wait=wait,
                     worker=str(worker))
    return study, ran


def report_losses(trial: optuna.Trial | None, rows: list[dict]) -> None:
    """The trial's loss curve, averaged over inner folds: validation loss per epoch as Optuna
    intermediate values, training loss per epoch as the user attribute ``train_loss``."""
    if trial is None or not rows:
        return
    curve = pd.DataFrame(rows).groupby("epoch", sort=True)[["train_loss", "val_loss"]].mean()
    for epoch, val in curve["val_loss"].items():
        trial.report(float(val), int(epoch))
    trial.set_user_attr("train_loss", [float(v) for v in curve["train_loss"]])


LOSS_COLUMNS = ["split", "fold", "trial", "epoch", "train_loss", "val_loss"]


def loss_history(study: optuna.Study, kind: str, name: str) -> pd.DataFrame:
    """One row per COMPLETE trial and epoch: the losses :func:`report_losses` stored (none for the SVR)."""
    rows = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        train = t.user_attrs.get("train_loss") or []
        for epoch, val in sorted(t.intermediate_values.items()):
            rows.append({"split": kind, "fold": name, "trial": t.number, "epoch": epoch,
                         "train_loss": train[epoch] if epoch < len(train) else None, "val_loss": val})
    return pd.DataFrame(rows, columns=LOSS_COLUMNS)


def history(study: optuna.Study, kind: str, name: str) -> pd.DataFrame:
    rows, best = [], np.inf
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        best = min(best, t.value)
        rows.append({"split": kind, "fold": name, "trial": t.number, "value": t.value,
                     "best_so_far": best,
                     "worker": t.user_attrs.get("worker"), "retried_from": retried_from(t),
                     "params": json.dumps(t.params, sort_keys=True),
                     **{f"param_{k}": v for k, v in t.params.items()}})
    return pd.DataFrame(rows)


def objective_fingerprint(samples_path, splits_path, model: str, base_params: dict, tune: TuneSettings,
                          seed: int) -> str:
    """Short hash of everything a trial's score depends on (see the module docstring)."""
    keys = {k: getattr(tune, k) for k in ("epochs", "inner_folds", "n_startup_trials")}
    blob = json.dumps([sha256(samples_path), sha256(splits_path), model, base_params, keys, int(seed)],
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def plan_tuning(samples_path, splits_path, *, model: str, train: TrainSettings, tune: TuneSettings,
                scheduling: TuneScheduling, seed: int, threads: int | None = None) -> TuningPlan:
    """Read the dataset and plan one study per outer split of ``tune.outer_splits`` (and set
    torch's thread count)."""
    if threads:
        torch.set_num_threads(int(threads))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    splits = read_json(splits_path)
    base = model_params(model, train)
    kinds = [k for k in tune.outer_splits if k in SPLIT_KINDS]
    fingerprint = objective_fingerprint(samples_path, splits_path, model, base, tune, seed)
    jobs = [SplitJob(kind, e["name"], e["train"],
                     study_name=f"{tune.study_name}.{model}.{kind}.{e['name']}.{fingerprint}",
                     seed=(int(seed) + zlib.crc32(f"{model}/{kind}/{e['name']}".encode())) % (2 ** 31))
            for kind in kinds for e in splits.get(kind, [])]
    samples = load_samples(samples_path)
    return TuningPlan(model=model, samples=samples,
                      descriptors=descriptors(samples) if model in DESCRIPTOR_MODELS else None,
                      base_params=base, device=resolve_device(train.device),
                      tune=tune.replace(storage=storage_for(tune.storage, model)), scheduling=scheduling,
                      kinds=kinds, fingerprint=fingerprint, jobs=jobs)


def run_tuning(samples_path, splits_path, best_params_path, history_path, *, model: str,
               train: TrainSettings, tune: TuneSettings, scheduling: TuneScheduling, seed: int,
               threads: int | None = None, loss_history_path=None) -> dict:
    """The `tune` rule: one study per outer split; write best_params.json and history.csv (one row
    per trial; ``best_so_far`` is the running minimum within its study, i.e. per outer split) and,
    given its path, loss_history.csv (:func:`loss_history`).

    It runs (or tops up) every study itself, as the only worker: with ``tune.workers`` > 1 it runs
    after the worker jobs (:func:`run_worker`) and usually finds the studies full. Trials left
    RUNNING by a killed run are re-queued first (no other worker can be running them)."""
    t0 = time.time()
    plan = plan_tuning(samples_path, splits_path, model=model, train=train, tune=tune, scheduling=scheduling,
                       seed=seed, threads=threads)
    tune, workers = plan.tune, int(scheduling.workers)
    storage = open_storage(tune.storage, scheduling)
    out = {"model": model, "sampler": "optuna.samplers.GPSampler (logEI)",
           "objective": "mean inner-GroupKFold validation RMSE over targets (log10 units), "
                        "within the outer split's training conditions only",
           "storage": tune.storage, "n_trials": int(tune.n_trials),
           "epochs": int(tune.epochs), "inner_folds": int(tune.inner_folds),
           "seed": int(seed), "outer_splits": plan.kinds, "objective_fingerprint": plan.fingerprint,
           "workers": workers, "heartbeat_interval_s": scheduling.heartbeat_interval_s, "splits": {}}
    hists, losses = [], []
    for job in plan.jobs:
        # as the only worker it is worker 0 (the seeds of a single-worker run); after N workers, worker N
        study, _ = tune_split(plan, job, storage, worker=workers if workers > 1 else 0, exclusive=True)
        h = history(study, job.kind, job.name)
        hists.append(h)
        losses.append(loss_history(study, job.kind, job.name))
        if len(h):
            bt = study.best_trial
            out["splits"][job.key] = {"params": bt.params, "value": bt.value, "trial": bt.number,
                                      "n_complete": len(h), "study_name": study.study_name,
                                      "n_failed": len(study.get_trials(deepcopy=False, states=(TrialState.FAIL,)))}
            log.info("%s %s: best %.4f with %s", model, job.key, bt.value, bt.params)
    # one representative set: the split whose best value is lowest (per-split params are what
    # the tuned models use; this is for reference and reuse outside the cross-validation)
    if out["splits"]:
        best_key = min(out["splits"], key=lambda k: out["splits"][k]["value"])
        out["params"] = out["splits"][best_key]["params"]
        out["params_from_split"] = best_key
    write_json(best_params_path, out)
    log.info("%s: tuning done in %.0f s", model, time.time() - t0)
    hist = pd.concat(hists, ignore_index=True) if hists else pd.DataFrame()
    with atomic_path(history_path) as tmp:
        hist.to_csv(tmp, index=False)
    if loss_history_path is not None:
        table = pd.concat(losses, ignore_index=True) if losses else pd.DataFrame(columns=LOSS_COLUMNS)
        with atomic_path(loss_history_path) as tmp:
            table.to_csv(tmp, index=False)
    return out


def run_worker(samples_path, splits_path, summary_path, *, model: str, train: TrainSettings,
               tune: TuneSettings, scheduling: TuneScheduling, seed: int, worker: int, lock_dir,
               threads: int | None = None) -> dict:
    """The `tune_worker` rule: worker `worker` of ``tune.workers`` joins every study of `model`.

    All workers walk the outer splits in the same order, so each study is filled by all of them
    at once (the GP sees the others' running trials). First pass: run trials while there are
    trials to start, then move on to the next split instead of idling. Second pass: wait for the
    trials still running elsewhere, and run those whose worker died (heartbeats). Reservation
    locks live in `lock_dir` (on the shared filesystem). Writes what it ran to `summary_path`."""
    t0 = time.time()
    plan = plan_tuning(samples_path, splits_path, model=model, train=train, tune=tune, scheduling=scheduling,
                       seed=seed, threads=threads)
    tune = plan.tune
    if tune.storage.startswith("sqlite:"):
        log.warning("several workers share the SQLite file of %s: fine on one machine, but SQLite's locks "
                    "are unreliable on network filesystems; across nodes use a journal file "
                    "(journal:///...) or a database server (docs/tuning.md)", tune.storage)
    storage = open_storage(tune.storage, scheduling)
    ran = {job.key: [] for job in plan.jobs}
    studies = {}
    for wait in (False, True):
        for job in plan.jobs:
            studies[job.key], trials = tune_split(plan, job, storage, worker=int(worker), wait=wait,
                                                  lock_path=Path(lock_dir) / f"{job.study_name}.reserve")
            ran[job.key] += trials
    out = {"model": model, "worker": int(worker), "host": socket.gethostname(), "pid": os.getpid(),
           "storage": tune.storage, "objective_fingerprint": plan.fingerprint,
           "n_trials": int(tune.n_trials), "splits": {}, "wall_time_s": time.time() - t0}
    for job in plan.jobs:
        trials = studies[job.key].get_trials(deepcopy=False)
        out["splits"][job.key] = {
            "study_name": job.study_name,
            "trials_run_here": [{"number": t.number, "state": t.state.name, "retried_from": retried_from(t)}
                                for t in ran[job.key]],
            "study_complete": sum(t.state == TrialState.COMPLETE for t in trials),
            "study_failed": sum(t.state == TrialState.FAIL for t in trials)}
    write_json(summary_path, out)
    return out
