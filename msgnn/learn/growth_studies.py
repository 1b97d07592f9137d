"""The growth task's two studies (issue 14; docs/learning_task.md), rule `growth_studies`:

* learning curve: leave-one-material-out RMSE against the number of training materials (each outer
  fold trains on that many of its training materials, drawn at random per seed), per model;
* tuning efficiency: Optuna's GPSampler (log EI) against TPE and random search on the real
  objective (the inner-CV RMSE of one model inside one outer fold's training materials), best-so-far
  curves per seed, the trials each sampler needs to reach the median best of `tuning_trials`
  random trials, and each sampler's own time per trial.

Every fit at the growth task's budget (config growth_task); the functions are msgnn.learn.lomo's.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msgnn.learn.lomo import Budget, growth_inputs, learning_curve, sampler_comparison, trials_to_reach

log = logging.getLogger(__name__)


def run_growth_studies(library_dir, task, studies, graph_settings, seed: int, curve_csv, curve_png, tuning_csv,
                       tuning_png, summary_json) -> dict:
    """`task`: GrowthTaskSettings (the budget), `studies`: GrowthStudiesSettings."""
    from msgnn.io import write_json

    models = list(dict.fromkeys([*studies.learning_curve_models, studies.tuning_model]))
    table, features, graphs = growth_inputs(library_dir, models, graph_settings, seed)
    budget = Budget(trials=task.trials, inner_folds=task.inner_folds, gnn_epochs=task.gnn_epochs)
    held = studies.tuning_held_out or sorted(table["material"].unique())[0]
    if held not in set(table["material"]):
        raise ValueError(f"growth_studies.tuning_held_out: {held!r} is not a material of the library {library_dir}")

    curve = learning_curve(table, features, list(studies.learning_curve_models), list(studies.learning_curve_sizes),
                           seeds=[seed + i for i in range(studies.learning_curve_seeds)], budget=budget,
                           graphs=graphs, progress=log.info)
    log.info("tuning efficiency: %s, %s held out, %d trials x %d seeds per sampler", studies.tuning_model, held,
             studies.tuning_trials, studies.tuning_seeds)
    curves = sampler_comparison(table, features[studies.tuning_model], studies.tuning_model, held,
                                seeds=[seed + i for i in range(studies.tuning_seeds)], n_trials=studies.tuning_trials,
                                budget=budget, graphs=graphs)
    reach = trials_to_reach(curves, at=studies.tuning_trials)
    by_size = curve.groupby(["model", "n_train_materials"])["rmse_m_per_s"]
    summary = {
        "learning_curve": {m: {str(n): float(v) for (mm, n), v in by_size.mean().items() if mm == m}
                           for m in studies.learning_curve_models},
        "learning_curve_unit": "leave-one-material-out RMSE of v (m/s), mean over seeds",
        "tuning_efficiency": {"model": studies.tuning_model, "held_out": held, "trials": studies.tuning_trials,
                              "seeds": studies.tuning_seeds, "inner_folds": task.inner_folds, **reach},
        f"trials_to_random_best_of_{studies.tuning_trials}": {
            name: reach[name]["median_trials"] for name in ("gp", "tpe", "random") if name in reach},
    }
    curve.to_csv(curve_csv, index=False)
    curves.to_csv(tuning_csv, index=False)
    learning_curve_plot(curve, curve_png)
    tuning_plot(curves, reach, tuning_png)
    write_json(summary_json, summary)
    return summary


def learning_curve_plot(curve: pd.DataFrame, path) -> None:
    """RMSE against the number of training materials per model: the mean over seeds, the seeds' range shaded."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from msgnn.io import save_figure

    fig, ax = plt.subplots(figsize=(5, 3.6), dpi=110)
    for model, g in curve.groupby("model"):
        s = g.groupby("n_train_materials")["rmse_m_per_s"].agg(["mean", "min", "max"])
        ax.plot(s.index, s["mean"], marker="o", label=model)
        ax.fill_between(s.index, s["min"], s["max"], alpha=0.15)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("training materials per outer fold")
    ax.set_ylabel("RMSE of v, material held out (m/s)")
    ax.set_title("learning curve (leave one material out)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def tuning_plot(curves: pd.DataFrame, reach: dict, path) -> None:
    """Best-so-far inner-CV RMSE against trials: the median over seeds per sampler, the seeds'
    range shaded, and the median best of the random trials (the target) as a line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from msgnn.io import save_figure

    fig, ax = plt.subplots(figsize=(5, 3.6), dpi=110)
    for name, g in curves.groupby("sampler"):
        s = g.groupby("trial")["best_so_far"].agg(["median", "min", "max"])
        r = reach.get(name, {})
        ax.plot(s.index, s["median"], label=f"{name}: {r.get('seeds_reaching')} seeds reach it"
                + (f", median trial {r['median_trials']:g}" if r.get("median_trials") is not None else ""))
        ax.fill_between(s.index, s["min"], s["max"], alpha=0.15)
    ax.axhline(reach["target_value"], color="gray", lw=0.8, ls="--")
    ax.set_xlabel("trial")
    ax.set_ylabel("best inner-CV RMSE so far (m/s)")
    ax.set_title(f"tuning efficiency ({reach['reference']})", fontsize=9)
    ax.legend(fontsize=8)
    top = float(np.nanpercentile(curves["best_so_far"], 95))
    ax.set_ylim(top=top * 1.05 if np.isfinite(top) else None)
    fig.tight_layout()
    save_figure(fig, path)
