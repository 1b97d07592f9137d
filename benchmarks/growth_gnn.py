"""Benchmark (not a test): the growth task's MS-GNN on a materials library, and what its budgets cost.

Times, on this machine, one MS-GNN fit (GrowthGNN at the stated defaults) on all of a library's
interfaces and reports the training throughput (interface graphs per second: interfaces x epochs
/ fit time) and, from it, the MS-GNN's share of the default budget (config growth_task: one fit
per held-out material) and of the full protocol (configs/full.yaml: trials x inner folds + 1 fits
per held-out material, model variant and seed). A fold's fit has fewer interfaces than the whole
library; the estimates take the whole library's time per fit, an upper bound.

    python benchmarks/growth_gnn.py [--library data/library] [--epochs 30] [--threads 1] [--out FILE]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import yaml

from msgnn.graphs.settings import GraphSettings
from msgnn.io import write_json
from msgnn.learn import lomo
from msgnn.learn.growth_gnn import DEFAULTS, GrowthGNN
from msgnn.workflow.config import validate

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", default=str(ROOT / "data/library"))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/growth_gnn.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    cfg = validate(yaml.safe_load((ROOT / "config.yaml").read_text()), source="config.yaml")
    full = yaml.safe_load((ROOT / "configs/full.yaml").read_text())["growth_task"]
    graphs_settings = GraphSettings.from_dict(cfg["graphs"])
    t0 = time.perf_counter()
    table, features, graphs = lomo.growth_inputs(args.library, ["msgnn"], graphs_settings, 0)
    build_s = time.perf_counter() - t0
    n_materials, n_interfaces = table["material"].nunique(), len(graphs)
    t0 = time.perf_counter()
    GrowthGNN({**DEFAULTS, "epochs": args.epochs}, graphs, features["msgnn"], 0, device="cpu").fit(table)
    fit_s = time.perf_counter() - t0
    per_epoch = fit_s / args.epochs
    default = cfg["growth_task"]
    fits_default = n_materials                                            # lomo, one seed, untuned
    fits_full = n_materials * (full["trials"] * full["inner_folds"] + 1) * full["seeds"]
    out = {
        "library": str(args.library), "materials": int(n_materials), "interfaces": int(n_interfaces),
        "atoms_per_interface_graph": float(sum(g[0]["atom"].x.shape[0] for g in graphs.values()) / n_interfaces),
        "torch_threads": args.threads, "graph_build_s": build_s, "epochs_timed": args.epochs,
        "fit_s_per_epoch": per_epoch, "interface_graphs_per_s": n_interfaces / per_epoch,
        "default_budget_msgnn_lomo_s": fits_default * default["gnn_epochs"] * per_epoch,
        "full_protocol_msgnn_lomo_s_per_variant": fits_full * full["gnn_epochs"] * per_epoch,
        "device": "cpu",
    }
    for k, v in out.items():
        print(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}")
    write_json(args.out, out)


if __name__ == "__main__":
    main()
