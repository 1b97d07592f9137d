"""Benchmark (not a test): wall time of one training fold per model, training throughput
(samples/s), and GP tuning trials.

Builds toy inputs at the default run's scale (12 growth conditions x 4 samples, ~300 atoms and
~80 facets per sample; synthetic), then times on this machine:
  * one GroupKFold fold of each model (msgnn, mlp, svr, mean) with config.yaml's train section,
    for 1 and 2 torch threads;
  * training throughput of the torch models: training samples x epochs / fit time (no validation
    pass), on the CPU with 1 and 2 threads and, where there is one, on the GPU (train.device: auto);
  * `n` GPSampler trials of the msgnn and mlp studies for one outer fold.

    python benchmarks/train_models.py [--trials 4] [--out benchmarks/train_models.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from msgnn.io import read_json, write_json
from msgnn.learn.dataset import build_dataset, load_samples
from msgnn.learn.settings import TrainSettings, TuneScheduling, TuneSettings
from msgnn.learn.train import fit_predict, model_params
from msgnn.learn.trials import open_storage
from msgnn.learn.tune import plan_tuning, tune_split
from msgnn.workflow.config import load

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from toy import toy_inputs  # noqa: E402  (the synthetic input writer of the tests)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=4)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    cfg = load(ROOT / "config.yaml")
    train = TrainSettings.from_dict(cfg["train"])
    res = {"synthetic": True, "n_trials": args.trials, "fold_fit_s": {}, "tune_s": {}}
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        ins = toy_inputs(d, n_snapshots=4, n_images=3, n_atoms=300, n_facets=80)
        ds = Path(d) / "ds"
        build_dataset(ins, ds / "samples.pt", ds / "targets.csv", ds / "splits.json",
                      folds=train.folds, seed=0)
        res["dataset_s"] = time.perf_counter() - t0
        samples, splits = load_samples(ds / "samples.pt"), read_json(ds / "splits.json")
        res["n_samples"] = len(samples)
        res["mean_atoms"] = sum(s["atom"].num_nodes for s in samples) / len(samples)
        e = splits["group_kfold"][0]
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for model in ("mean", "svr", "mlp", "msgnn"):
                t = time.perf_counter()
                fit_predict(model, samples, e["train"], e["test"], model_params(model, train), seed=0)
                res["fold_fit_s"][f"{model}/threads{threads}"] = time.perf_counter() - t
        res["train_samples_per_s"] = {}
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for device in devices:
            for threads in ((1, 2) if device == "cpu" else (1,)):
                torch.set_num_threads(threads)
                for model in ("mlp", "msgnn"):
                    params = model_params(model, train)
                    t = time.perf_counter()
                    fit_predict(model, samples, e["train"], e["test"][:1], params, seed=0, device=device)
                    rate = len(e["train"]) * int(params["epochs"]) / (time.perf_counter() - t)
                    res["train_samples_per_s"][f"{model}/{device}/threads{threads}"] = rate
        res["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu only"
        torch.set_num_threads(1)
        tune = TuneSettings.from_section(cfg["tune"]).replace(
            n_trials=args.trials, n_startup_trials=min(2, args.trials), storage=f"sqlite:///{d}/study.db")
        scheduling = TuneScheduling.from_section(cfg["tune"])
        for model in ("mlp", "msgnn"):
            t = time.perf_counter()
            plan = plan_tuning(ds / "samples.pt", ds / "splits.json", model=model, train=train, tune=tune,
                               scheduling=scheduling, seed=0)
            tune_split(plan, plan.jobs[0], open_storage(plan.tune.storage, scheduling))
            res["tune_s"][model] = time.perf_counter() - t
    print(json.dumps(res, indent=2))
    if args.out:
        write_json(args.out, res)


if __name__ == "__main__":
    main()
