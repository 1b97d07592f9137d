"""Benchmark (not a test): wall time of one training fold per model, and of GP tuning trials.

Builds toy inputs at the default run's scale (12 growth conditions x 4 samples, ~300 atoms and
~80 facets per sample; synthetic), then times on this machine:
  * one GroupKFold fold of each model (msgnn, mlp, svr, mean) with config.yaml's train section,
    for 1 and 2 torch threads;
  * `n` GPSampler trials of the msgnn and mlp studies for one outer fold.

    python benchmarks/train_models.py [--trials 4] [--out benchmarks/train_models.json]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
import yaml

from msgnn.learn.dataset import build_dataset, load_samples
from msgnn.io import read_json, write_json
from msgnn.learn.model.toy import toy_inputs
from msgnn.learn.train import fit_predict, model_params
from msgnn.learn.tune import tune_split

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=4)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    res = {"synthetic": True, "n_trials": args.trials, "fold_fit_s": {}, "tune_s": {}}
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        ins = toy_inputs(d, n_snapshots=4, n_images=3, n_atoms=300, n_facets=80)
        ds = Path(d) / "ds"
        build_dataset(ins, ds / "samples.pt", ds / "targets.csv", ds / "splits.json",
                      folds=cfg["train"]["folds"], seed=0)
        res["dataset_s"] = time.perf_counter() - t0
        samples, splits = load_samples(ds / "samples.pt"), read_json(ds / "splits.json")
        res["n_samples"] = len(samples)
        res["mean_atoms"] = sum(s["atom"].num_nodes for s in samples) / len(samples)
        e = splits["group_kfold"][0]
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for model in ("mean", "svr", "mlp", "msgnn"):
                t = time.perf_counter()
                fit_predict(model, samples, e["train"], e["test"], model_params(model, cfg["train"]), seed=0)
                res["fold_fit_s"][f"{model}/threads{threads}"] = time.perf_counter() - t
        torch.set_num_threads(1)
        for model in ("mlp", "msgnn"):
            t = time.perf_counter()
            tune_split(samples, e["train"], model=model, base_params=model_params(model, cfg["train"]),
                       n_trials=args.trials, epochs=cfg["tune"]["epochs"],
                       storage=f"sqlite:///{d}/study.db", study_name=model, seed=0,
                       n_startup_trials=min(2, args.trials))
            res["tune_s"][model] = time.perf_counter() - t
    print(json.dumps(res, indent=2))
    if args.out:
        write_json(args.out, res)


if __name__ == "__main__":
    main()
