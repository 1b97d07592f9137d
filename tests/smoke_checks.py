"""Checks of a finished smoke run shared by the end-to-end tests (test_workflow.py, test_slurm.py).

What the smoke scale can promise: with 4 growth conditions and 2 folds no model clearly beats the
mean predictor, so the checks bound the models by it. In the smoke run of commit 5f0f1aa every
model's RMSE was within 0.84-1.20 times the mean predictor's per target and 0.98-1.07 times over
the mean of the targets; predictions left in standardised units, a target mixed up with another or
a broken inverse transform give several to hundreds of times the mean predictor's RMSE.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

from msgnn.workflow.timeline import job_stats

TARGETS = ("growth_rate", "nucleation_density", "lambda")
MODELS = {"msgnn", "mlp", "svr", "msgnn_default", "mlp_default", "svr_default", "mean"}
PER_TARGET_MARGIN = 1.5        # a model's RMSE per target < 1.5 x the mean predictor's
MEAN_OVER_TARGETS_MARGIN = 1.25


def check_metrics(root: Path, n_trials: int) -> None:
    """results/report/metrics.json: finite per-target RMSEs of every model, none far worse than the
    mean predictor; each tuned outer fold ran `n_trials` trials and its tuned model used them."""
    metrics = json.loads((root / "results/report/metrics.json").read_text())
    models = metrics["models"]
    assert set(models) == MODELS, sorted(models)
    mean = models["mean"]
    for name, m in models.items():
        rmse = m["group_kfold"]["rmse"]
        assert set(rmse) == set(TARGETS) and m["rmse"] == rmse, (name, rmse)
        for t in TARGETS:
            assert math.isfinite(rmse[t]) and 0 < rmse[t] < PER_TARGET_MARGIN * mean["rmse"][t], \
                (name, t, rmse[t], mean["rmse"][t])
        assert m["rmse_mean_over_targets"] < MEAN_OVER_TARGETS_MARGIN * mean["rmse_mean_over_targets"], \
            (name, m["rmse_mean_over_targets"], mean["rmse_mean_over_targets"])
    studies = metrics["tuning"]["splits"]
    assert set(studies) == {f"group_kfold/{f['name']}" for f in mean["group_kfold"]["folds"]}
    check_studies(studies, n_trials)
    for key, study in studies.items():
        used = models["msgnn"]["params_per_split"][key]
        assert {k: used[k] for k in study["params"]} == study["params"], key


def check_studies(studies: dict, n_trials: int) -> None:
    """Every outer split's Optuna study ({split: summary}, as in results/tune/best_params.json)
    ran `n_trials` complete trials and none failed."""
    assert studies
    for key, study in studies.items():
        assert study["n_complete"] == n_trials and study["n_failed"] == 0, (key, study)


def check_provenance(root: Path, log: str) -> list[dict]:
    """Every job of the run (`log`: Snakemake's output) left one provenance record, naming its
    outputs and inputs with sha256; returns the records."""
    records = [json.loads(p.read_text()) for p in (root / "results/provenance").rglob("*.json")]
    assert Counter(r["rule"] for r in records) == job_stats(log)
    for r in records:
        assert r["outputs"], r["rule"]
        for f in r["inputs"] + r["outputs"]:
            assert len(f["sha256"]) == 64, (r["rule"], f)
    return records
