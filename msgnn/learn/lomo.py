"""Nested leave-one-group-out evaluation of the growth task (msgnn.learn.growth): leave one
material out (the headline) or one structure family out; every model is tuned inside the outer
training folds only (Optuna, the same number of trials for every tunable model, inner GroupKFold
by material) and refitted there; predictions are collected for the held-out group.

Models all predict v (m/s). The learned ones fit y = v / u (u: the collision-limited scale,
computed from inputs) with weights u^2, so their loss is the squared error in v:

* mean: the mean training velocity (ignores every input);
* collision: v = C u, one C per orientation class (closest-packed or not), least squares;
* wilson_frenkel: v = C D/lambda (1 - exp(-dmu/kT)), lambda the liquid's g(r) peak, one C per class;
* fluctuation: v = C mu_f (Tm - T), mu_f the kinetic coefficient implied by the random walk of the
  material's interfaces at Tm (msgnn.md.fit.fluctuation_kinetic_coefficient), one C per class;
* ridge, svr, mlp, gbt (scikit-learn) on the scalar inputs and the interface graphs' fixed
  descriptors, standardised inside each training fold;
* every learned model (these and the MS-GNN's) fits the residual of a physics law fitted on the
  same training rows (OnPhysics): of collision, Wilson-Frenkel and fluctuation, the one with the
  lowest leave-one-material-out error inside those rows (BestPhysics); it learns a material's
  departure from the physics;
* msgnn: the MS-GNN on the interface graphs themselves plus the scalar inputs (msgnn.learn.growth_gnn);
  msgnn_atoms: the same with the atomic level alone (ablation); msgnn_windows: the same trained
  with lateral windows of each interface as extra views (augmentation, kept only if it beats
  msgnn); msgnn_propensity: the same with an auxiliary per-atom task (each interface atom's solid flag
  one snapshot later, from the interface run at Tm); msgnn_paper: the seed paper's configuration
  (4 layers per scale, 16 attention units), not tuned.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd
from scipy import stats
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR
from threadpoolctl import threadpool_limits

from msgnn.learn.growth import rmse

log = logging.getLogger(__name__)
PHYSICS = ("mean", "collision", "wilson_frenkel", "fluctuation")
LEARNED = ("ridge", "svr", "mlp", "gbt", "msgnn", "msgnn_atoms", "msgnn_windows", "msgnn_propensity",
           "msgnn_noattention", "msgnn_facets")
GNN = ("msgnn", "msgnn_atoms", "msgnn_windows", "msgnn_propensity", "msgnn_paper", "msgnn_noattention",
       "msgnn_facets")
# MS-GNN variants: fixed settings on top of the tuned (or, for the paper's, given) parameters
GNN_FIXED = {"msgnn": {}, "msgnn_atoms": {"levels": ["atom"]},        # ablation: the atomic level alone
             "msgnn_windows": {"windows": True},                      # augmentation: lateral windows as views
             # auxiliary task: each interface atom's solid flag one snapshot later (weight 1)
             "msgnn_propensity": {"propensity": 1.0},
             # the macroscale forecast's ablations (msgnn.learn.forecast_gnn)
             "msgnn_noattention": {"cross_attention": False}, "msgnn_facets": {"levels": ["facet"]},
             "msgnn_paper": {"layers_per_scale": 4, "attention_dim": 16, "hidden": 32, "lr": 3e-3,
                             "weight_decay": 1e-5}}                  # the seed paper's configuration, untuned


class ScaledPhysics:
    """v = C_class * scale, C per orientation class fitted by weighted least squares (all rows'
    C for a class absent from training)."""

    def __init__(self, scale_column: str):
        self.scale_column = scale_column

    @staticmethod
    def coefficients(v: np.ndarray, u: np.ndarray, cls: np.ndarray) -> tuple[float, dict]:
        """C over all rows and C per class, of v = C u by least squares (numpy arrays: BestPhysics
        calls this ~140 times per fit: an SVR tuning trial took 0.38 s with pandas indexing, 0.10 s so)."""
        def c(mask):
            return float(np.dot(v[mask], u[mask]) / np.dot(u[mask], u[mask]))
        return c(slice(None)), {k: c(cls == k) for k in np.unique(cls)}

    @staticmethod
    def apply(coefficients: tuple[float, dict], u: np.ndarray, cls: np.ndarray) -> np.ndarray:
        all_, by_class = coefficients
        C = np.full(len(u), all_)              # a class absent from training: all rows' C
        for k, c in by_class.items():
            C[cls == k] = c
        return C * u

    def fit(self, df: pd.DataFrame):
        self.all_, self.by_class_ = self.coefficients(df["velocity_m_per_s"].to_numpy(float),
                                                      df[self.scale_column].to_numpy(float),
                                                      df["close_packed"].to_numpy())
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return self.apply((self.all_, self.by_class_), df[self.scale_column].to_numpy(float),
                          df["close_packed"].to_numpy())


class MeanVelocity:
    def fit(self, df: pd.DataFrame):
        self.mean_ = float(df["velocity_m_per_s"].mean())
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return np.full(len(df), self.mean_)


# Every tunable model's parameters when the budget has no trials (growth_task.trials: 0, the
# default run's budget): a middle of its search space, stated here, the same footing for every model.
DEFAULTS = {"ridge": {"alpha": 1.0},
            "svr": {"C": 1.0, "epsilon": 0.01, "gamma": 0.01},
            "mlp": {"hidden": 32, "layers": 2, "alpha": 1e-3, "learning_rate_init": 1e-3},
            "gbt": {"learning_rate": 0.1, "max_depth": 3, "min_samples_leaf": 10, "l2_regularization": 0.01}}


def default_params(model: str) -> dict:
    if model in GNN:
        from msgnn.learn.growth_gnn import DEFAULTS as GNN_DEFAULTS
        return dict(GNN_DEFAULTS)
    return dict(DEFAULTS[model])


def search_space(trial: optuna.Trial, model: str) -> dict:
    if model in GNN:
        from msgnn.learn.growth_gnn import search_space as gnn_space
        return gnn_space(trial)
    if model == "ridge":
        return {"alpha": trial.suggest_float("alpha", 1e-3, 1e3, log=True)}
    if model == "svr":
        return {"C": trial.suggest_float("C", 1e-2, 1e2, log=True),
                "epsilon": trial.suggest_float("epsilon", 1e-3, 0.3, log=True),
                "gamma": trial.suggest_float("gamma", 1e-4, 1e-1, log=True)}
    if model == "mlp":
        return {"hidden": trial.suggest_int("hidden", 8, 128, log=True), "layers": trial.suggest_int("layers", 1, 3),
                "alpha": trial.suggest_float("alpha", 1e-5, 1.0, log=True),
                "learning_rate_init": trial.suggest_float("learning_rate_init", 1e-4, 1e-2, log=True)}
    if model == "gbt":
        return {"learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
                "max_depth": trial.suggest_int("max_depth", 2, 6),
                "min_samples_leaf": trial.suggest_int("min_samples_leaf", 3, 30, log=True),
                "l2_regularization": trial.suggest_float("l2_regularization", 1e-4, 10.0, log=True)}
    raise ValueError(f"no search space for model {model!r}")


class Learned:
    """A scikit-learn regressor on standardised features, fitting y = v / u with weights u^2."""

    def __init__(self, model: str, params: dict, features: list[str], seed: int):
        self.model, self.params, self.features, self.seed = model, params, features, seed

    def _estimator(self):
        p = self.params
        if self.model == "ridge":
            est = Ridge(alpha=p["alpha"])
        elif self.model == "svr":
            est = SVR(C=p["C"], epsilon=p["epsilon"], gamma=p["gamma"])
        elif self.model == "mlp":
            est = MLPRegressor(hidden_layer_sizes=(p["hidden"],) * p["layers"], alpha=p["alpha"],
                               learning_rate_init=p["learning_rate_init"], max_iter=2000, early_stopping=False,
                               random_state=self.seed)
        elif self.model == "gbt":
            est = HistGradientBoostingRegressor(learning_rate=p["learning_rate"], max_depth=p["max_depth"],
                                                min_samples_leaf=p["min_samples_leaf"],
                                                l2_regularization=p["l2_regularization"], random_state=self.seed)
        else:
            raise ValueError(f"unknown model {self.model!r}")
        return make_pipeline(StandardScaler(), est)

    def fit(self, df: pd.DataFrame):
        u = df["target_scale_m_per_s"].to_numpy(float)
        self.est_ = self._estimator()
        name = self.est_.steps[-1][0]
        self.est_.fit(df[self.features].to_numpy(float), df["velocity_m_per_s"].to_numpy(float) / u,
                      **{f"{name}__sample_weight": u ** 2 / np.mean(u ** 2)})
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return self.est_.predict(df[self.features].to_numpy(float)) * df["target_scale_m_per_s"].to_numpy(float)


def make_model(model: str, params: dict, features: list[str], seed: int, graphs: dict | None = None):
    """`graphs`: (material, orientation) -> interface graphs (msgnn.learn.growth_gnn), for "msgnn"."""
    if model in GNN:
        from msgnn.learn.growth_gnn import GrowthGNN
        if graphs is None:
            raise ValueError("the msgnn model needs the interface graphs (msgnn.learn.growth_gnn.interface_graphs)")
        return GrowthGNN(params, graphs, features, seed)
    if model == "mean":
        return MeanVelocity()
    if model == "collision":
        return ScaledPhysics("collision_scale_m_per_s")
    if model == "wilson_frenkel":
        return ScaledPhysics("wilson_frenkel_scale_m_per_s")
    if model == "fluctuation":
        return ScaledPhysics("fluctuation_scale_m_per_s")
    return Learned(model, params, features, seed)


class OnPhysics:
    """A learned model fitted to the residual of a physics model: v = physics(x) + inner(v - physics(x)),
    the physics model fitted on the same training rows first (so the learned part starts from the
    physics and models a material's departure from it; its loss is still the squared error in v).
    The growth task's physics is the collision law (ScaledPhysics on the collision scale), the
    forecast's the calibrated JMAK estimate of each target (msgnn.learn.forecast.Calibrated)."""

    def __init__(self, inner, physics):
        self.inner, self.physics = inner, physics

    def fit(self, df: pd.DataFrame):
        self.physics.fit(df)
        self.inner.fit(df.assign(velocity_m_per_s=df["velocity_m_per_s"] - self.physics.predict(df)))
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return self.physics.predict(df) + self.inner.predict(df)


class BestPhysics:
    """Of the physics laws v = C scale (ScaledPhysics on each of `scales`), the one with the lowest
    leave-one-material-out error on the training rows, refitted on all of them: chosen inside the
    training materials only, like any tuning. With one training material, the first scale."""

    SCALES = ("collision_scale_m_per_s", "wilson_frenkel_scale_m_per_s", "fluctuation_scale_m_per_s")

    def __init__(self, scales=SCALES):
        self.scales = scales

    def fit(self, df: pd.DataFrame):
        groups, v, cls = df["material"].to_numpy(), df["velocity_m_per_s"].to_numpy(float), df["close_packed"].to_numpy()
        errors = {}
        if len(np.unique(groups)) > 1:
            for col in self.scales:
                u = df[col].to_numpy(float)
                err = [(v[te] - ScaledPhysics.apply(ScaledPhysics.coefficients(v[tr], u[tr], cls[tr]), u[te], cls[te])) ** 2
                       for tr, te in LeaveOneGroupOut().split(df, groups=groups)]
                errors[col] = float(np.mean(np.concatenate(err)))
        self.scale_ = min(errors, key=errors.get) if errors else self.scales[0]
        self.model_ = ScaledPhysics(self.scale_).fit(df)
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return self.model_.predict(df)


def make_growth_model(model: str, params: dict, features: list[str], seed: int, graphs: dict | None = None):
    """The growth task's models: make_model's, every learned one (the MS-GNN variants too) on the
    residual of the physics law that best explains its training materials (OnPhysics, BestPhysics)."""
    m = make_model(model, params, features, seed, graphs)
    return OnPhysics(m, BestPhysics()) if model in LEARNED or model in GNN else m


@dataclass(frozen=True)
class Budget:
    trials: int = 10          # Optuna trials per tunable model and outer fold; 0: every model at its DEFAULTS
    inner_folds: int = 4      # GroupKFold by material inside the outer training set
    gnn_epochs: int = 150     # full-batch epochs of each MS-GNN fit (fixed, not tuned)


def inner_rmse(model: str, params: dict, df: pd.DataFrame, features: list[str], folds: int, seed: int,
               graphs: dict | None = None, make=None) -> float:
    """`make`: the model factory, make_model's signature (the forecast's MS-GNN: its own)."""
    make = make or make_model
    groups = df["material"].to_numpy()
    k = min(folds, len(np.unique(groups)))
    if k < 2:
        raise ValueError(f"tuning {model} needs at least 2 training materials (inner folds by material); got {k}")
    err = []
    for tr, te in GroupKFold(n_splits=k, shuffle=True, random_state=seed).split(df, groups=groups):
        m = make(model, params, features, seed, graphs).fit(df.iloc[tr])
        err.append((df["velocity_m_per_s"].iloc[te].to_numpy() - m.predict(df.iloc[te])) ** 2)
    return float(np.sqrt(np.mean(np.concatenate(err))))


def tune(model: str, df: pd.DataFrame, features: list[str], budget: Budget, seed: int,
         graphs: dict | None = None, make=None) -> tuple[dict, float]:
    """Best parameters of `model` on the training rows `df` by inner CV (GPSampler, `budget.trials`);
    with no trials, its DEFAULTS (no inner CV). `make`: the model factory of inner_rmse."""
    fixed = {"epochs": budget.gnn_epochs, **GNN_FIXED[model]} if model in GNN else {}
    if model not in LEARNED:
        return fixed, float("nan")
    if budget.trials == 0:
        return {**default_params(model), **fixed}, float("nan")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.GPSampler(seed=seed, n_startup_trials=min(5, budget.trials)))
    study.optimize(lambda t: inner_rmse(model, {**fixed, **search_space(t, model)}, df, features, budget.inner_folds,
                                        seed, graphs, make), n_trials=budget.trials)
    return {**fixed, **study.best_params}, float(study.best_value)


def outer_groups(df: pd.DataFrame, split: str) -> pd.Series:
    if split == "lomo":
        return df["material"]
    if split == "lofo":
        return df["family"]
    raise ValueError(f"unknown split kind {split!r} (lomo or lofo)")


def evaluate(df: pd.DataFrame, features, models, *, split: str, seeds, budget: Budget,
             graphs: dict | None = None, n_train: int | None = None, progress=None) -> pd.DataFrame:
    """Held-out predictions of every model, seed and outer fold: KEY columns, `velocity_m_per_s`,
    `predicted_m_per_s`, `model`, `seed`, `held_out`, `inner_rmse_m_per_s`, `params`. `features`:
    the input columns, or a dict model -> its columns. `n_train`: train each outer fold on that
    many of its training materials only, drawn at random per seed and fold (the learning curve)."""
    groups = outer_groups(df, split)
    out = []
    with threadpool_limits(1):      # hundreds of fits on a few hundred rows: threads only contend
        _evaluate(df, groups, features, models, split, seeds, budget, graphs, n_train, progress, out)
    return pd.concat(out, ignore_index=True)


def _evaluate(df, groups, features, models, split, seeds, budget, graphs, n_train, progress, out) -> None:
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for held in sorted(groups.unique()):
            train, test = df[groups != held], df[groups == held]
            if n_train is not None:
                pool = sorted(train["material"].unique())
                keep = rng.choice(pool, size=min(n_train, len(pool)), replace=False)
                train = train[train["material"].isin(keep)]
            for model in models:
                feats = features[model] if isinstance(features, dict) else features
                params, inner = tune(model, train, feats, budget, seed, graphs, make=make_growth_model)
                pred = make_growth_model(model, params, feats, seed, graphs).fit(train).predict(test)
                out.append(test[["material", "family", "orientation", "temperature_K", "velocity_m_per_s"]].assign(
                    predicted_m_per_s=pred, model=model, seed=seed, held_out=held, inner_rmse_m_per_s=inner,
                    params=str(params), n_train_materials=train["material"].nunique()))
                if progress:
                    progress(f"{split} seed {seed} held out {held}: {model} rmse {rmse(test['velocity_m_per_s'], pred):.2f} m/s")


def learning_curve(df: pd.DataFrame, features, models, sizes, *, seeds, budget: Budget, graphs=None,
                   progress=None) -> pd.DataFrame:
    """Leave-one-material-out RMSE (m/s) against the number of training materials: one row per
    size, model and seed (`sizes` larger than the training set use all of it)."""
    rows = []
    for n in sizes:
        pred = evaluate(df, features, models, split="lomo", seeds=seeds, budget=budget, graphs=graphs, n_train=n,
                        progress=progress)
        for (m, s), g in pred.groupby(["model", "seed"]):
            rows.append({"n_train_materials": int(g["n_train_materials"].max()), "model": m, "seed": int(s),
                         "rmse_m_per_s": rmse(g["velocity_m_per_s"], g["predicted_m_per_s"])})
    return pd.DataFrame(rows)


def per_material_rmse(pred: pd.DataFrame) -> pd.DataFrame:
    """RMSE (m/s) per model and held-out material, averaged over seeds: index material, columns models."""
    r = pred.groupby(["model", "seed", "material"]).apply(
        lambda g: rmse(g["velocity_m_per_s"], g["predicted_m_per_s"]), include_groups=False)
    return r.groupby(["material", "model"]).mean().unstack("model")


def bootstrap_rmse(pred: pd.DataFrame, model: str, n: int = 2000, seed: int = 0) -> tuple[float, list[float]]:
    """RMSE over all held-out rows of `model` (mean over seeds) and its 95 % interval from
    resampling materials."""
    p = pred[pred["model"] == model]
    sq = p.assign(se=(p["velocity_m_per_s"] - p["predicted_m_per_s"]) ** 2).groupby(["material"])["se"].agg(["sum", "count"])
    boot = stats.bootstrap((sq["sum"].to_numpy(), sq["count"].to_numpy()),
                           lambda s, c, axis: np.sqrt(s.sum(axis) / c.sum(axis)), paired=True, vectorized=True,
                           n_resamples=n, method="percentile", rng=np.random.default_rng(seed)).confidence_interval
    point = float(p.groupby("seed").apply(lambda g: rmse(g["velocity_m_per_s"], g["predicted_m_per_s"]),
                                          include_groups=False).mean())
    return point, [float(boot.low), float(boot.high)]


def paired_comparison(per_material: pd.DataFrame, model: str, reference: str, n: int = 2000, seed: int = 0) -> dict:
    """`model` against `reference` per held-out material: the ratio of their mean per-material RMSEs
    with a paired bootstrap 95 % interval over materials, and the Wilcoxon signed-rank p-value of
    the per-material differences (two-sided)."""
    a, b = per_material[model].to_numpy(float), per_material[reference].to_numpy(float)
    ci = stats.bootstrap((a, b), lambda x, y, axis: x.mean(axis) / y.mean(axis), paired=True, vectorized=True,
                         n_resamples=n, method="percentile", rng=np.random.default_rng(seed)).confidence_interval
    p = float(stats.wilcoxon(a, b).pvalue) if len(a) >= 2 and np.any(a != b) else 1.0
    return {"model": model, "reference": reference, "rmse_ratio": float(a.mean() / b.mean()),
            "ci95": [float(ci.low), float(ci.high)],
            "p_value": p, "n_materials": int(len(a)), "test": "Wilcoxon signed-rank on per-material RMSE; paired bootstrap of the ratio"}


def summarise(pred: pd.DataFrame, *, target_model: str | None = None) -> dict:
    """The metrics block of one split kind: per model RMSE (m/s) with 95 % interval, relative RMSE
    (RMSE / RMS of the measured v) per family, the best baseline, and the paired comparison of
    `target_model` (e.g. "msgnn") against the best baseline (the best model that is no MS-GNN
    variant; the ablations are compared in their own entries)."""
    models = sorted(pred["model"].unique())
    out = {"n_materials": int(pred["material"].nunique()), "seeds": sorted(int(s) for s in pred["seed"].unique()),
           "n_rows": int(len(pred) // max(1, pred["model"].nunique() * pred["seed"].nunique())), "models": {}}
    for m in models:
        point, ci = bootstrap_rmse(pred, m)
        p = pred[pred["model"] == m]
        fam = {f: rmse(g["velocity_m_per_s"], g["predicted_m_per_s"]) / float(np.sqrt(np.mean(g["velocity_m_per_s"] ** 2)))
               for f, g in p.groupby("family")}
        out["models"][m] = {"rmse": {"growth_rate": point, "ci95": ci, "unit": "m/s"},
                            "relative_rmse_by_family": fam}
    pm = per_material_rmse(pred)
    target = target_model if target_model in models else None
    baselines = [m for m in models if m != target and m not in GNN] or [m for m in models if m != target]
    best = min(baselines, key=lambda m: out["models"][m]["rmse"]["growth_rate"])
    out["best_baseline"] = best
    if target:
        out[f"{target}_vs_best"] = paired_comparison(pm, target, best)
        for m in (m for m in models if m in GNN and m != target):      # ablations against the full model
            out[f"{m}_vs_{target}"] = paired_comparison(pm, m, target)
        ann_svm = [m for m in ("mlp", "svr") if m in models]             # the seed paper's comparison
        if ann_svm:
            better = min(ann_svm, key=lambda m: out["models"][m]["rmse"]["growth_rate"])
            out[f"{target}_vs_ann_svm"] = paired_comparison(pm, target, better)
    return out


def growth_inputs(library_dir, models, graph_settings, seed: int):
    """The growth table of the library and what `models` read: the input columns per model (the
    scalar inputs; the learned baselines also the interface graphs' fixed descriptors) and, for the
    MS-GNN variants, the interface graphs."""
    from msgnn.learn.growth import SCALAR_INPUTS, growth_table, interface_descriptors

    table = growth_table(library_dir)
    keys = sorted(set(zip(table["material"], table["orientation"])))
    features = {m: SCALAR_INPUTS for m in models}
    if any(m in LEARNED and m not in GNN for m in models):
        desc = interface_descriptors(library_dir, keys, graph_settings)
        table = table.merge(desc, on=["material", "orientation"], how="left")
        described = SCALAR_INPUTS + [c for c in desc.columns if c not in ("material", "orientation")]
        features.update({m: described for m in models if m in LEARNED and m not in GNN})
    graphs = None
    if any(m in GNN for m in models):
        from msgnn.learn.growth_gnn import WINDOWS_PER_SNAPSHOT, interface_graphs
        graphs = interface_graphs(library_dir, keys, graph_settings, seed=seed,
                                  windows=WINDOWS_PER_SNAPSHOT if "msgnn_windows" in models else 0)
    log.info("growth task: %d rows, %d materials, %d interfaces; models %s", len(table),
             table["material"].nunique(), len(keys), list(models))
    return table, features, graphs


def run_growth_task(library_dir, settings, graph_settings, split: str, seed: int, predictions_csv, metrics_json,
                    parity_png) -> dict:
    """The growth task on the library for one split kind: every model of `settings`
    (msgnn.learn.settings.GrowthTaskSettings) over `settings.seeds` seeds; writes the held-out
    predictions, the metrics block (summarise) and a parity plot per family."""
    from msgnn.io import write_json

    models = list(settings.models)
    table, features, graphs = growth_inputs(library_dir, models, graph_settings, seed)
    budget = Budget(trials=settings.trials, inner_folds=settings.inner_folds, gnn_epochs=settings.gnn_epochs)
    pred = evaluate(table, features, models, split=split, seeds=[seed + i for i in range(settings.seeds)],
                    budget=budget, graphs=graphs, progress=log.info)
    metrics = {**summarise(pred, target_model="msgnn" if "msgnn" in models else None), "split": split,
               # the measured velocities' own error (between-replica standard error): the floor of any RMSE
               "target_stderr_rms_m_per_s": float(np.sqrt(np.mean(table["stderr_m_per_s"].to_numpy(float) ** 2))),
               "budget": {"trials_per_model_and_fold": settings.trials, "inner_folds": settings.inner_folds,
                          "gnn_epochs": settings.gnn_epochs,
                          "sampler": "Optuna GPSampler" if settings.trials else "none: every model at its defaults"},
               "target_transform": "y = (v - v_physics) / u, u = sqrt(3 k_B T/m) (1 - exp(-L dT/(k_B T Tm))), "
                                   "v_physics the physics law (collision, Wilson-Frenkel or fluctuation) with the "
                                   "lowest leave-one-material-out error on the training rows; fits weighted by u^2"}
    pred.to_csv(predictions_csv, index=False)
    write_json(metrics_json, metrics)
    parity_plot(pred, metrics, parity_png)
    return metrics


def parity_plot(pred: pd.DataFrame, metrics: dict, path) -> None:
    """Measured against predicted v (held out), one panel per model shown, colour by family."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from msgnn.io import save_figure

    shown = [m for m in ("msgnn", metrics.get("best_baseline"), "collision", "mean") if m in metrics["models"]]
    shown = list(dict.fromkeys(shown))
    fig, axes = plt.subplots(1, len(shown), figsize=(3.6 * len(shown), 3.6), dpi=110, squeeze=False)
    lim = float(np.nanmax(np.abs(pred[["velocity_m_per_s", "predicted_m_per_s"]].to_numpy()))) * 1.05
    for ax, m in zip(axes[0], shown):
        p = pred[pred["model"] == m].groupby(["material", "family", "orientation", "temperature_K"], as_index=False)[
            ["velocity_m_per_s", "predicted_m_per_s"]].mean()
        for fam, g in p.groupby("family"):
            ax.scatter(g["velocity_m_per_s"], g["predicted_m_per_s"], s=8, label=fam)
        ax.plot([-lim, lim], [-lim, lim], color="gray", lw=0.8)
        r = metrics["models"][m]["rmse"]
        ax.set_title(f"{m}: RMSE {r['growth_rate']:.1f} m/s", fontsize=9)
        ax.set_xlabel("measured v (m/s)")
        ax.set_xlim(-lim, lim); ax.set_ylim(-lim, lim)
    axes[0][0].set_ylabel(f"predicted v, material held out ({metrics['split']})")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


SAMPLERS = {"gp": lambda seed, startup: optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup),
            "tpe": lambda seed, startup: optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup),
            "random": lambda seed, startup: optuna.samplers.RandomSampler(seed=seed)}


def sampler_comparison(df: pd.DataFrame, features, model: str, held_out: str, *, samplers=("gp", "tpe", "random"),
                       seeds, n_trials: int = 50, budget: Budget = Budget(), graphs=None, startup: int = 5) -> pd.DataFrame:
    """Tuning efficiency on the real objective (the inner-CV RMSE of `model` on the training
    materials of one outer fold, `held_out` left out): per sampler and seed, every trial's value,
    the best so far and the sampler's own time per trial (the wall time minus the objective's)."""
    import time

    train = df[df["material"] != held_out]
    fixed = {"epochs": budget.gnn_epochs, **GNN_FIXED[model]} if model in GNN else {}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = []
    with threadpool_limits(1):
        for name in samplers:
            for seed in seeds:
                spent = []

                def objective(t):
                    params = {**fixed, **search_space(t, model)}    # the sampler works here (lazily, at suggest)
                    t0 = time.time()
                    v = inner_rmse(model, params, train, features, budget.inner_folds, seed, graphs,
                                   make=make_growth_model)
                    spent.append(time.time() - t0)
                    return v

                study = optuna.create_study(direction="minimize", sampler=SAMPLERS[name](seed, startup))
                started = time.time()
                study.optimize(objective, n_trials=n_trials)
                overhead = (time.time() - started - sum(spent)) / n_trials
                values = [t.value for t in study.trials]
                rows += [{"sampler": name, "seed": seed, "trial": i + 1, "value": v, "best_so_far": float(np.min(values[:i + 1])),
                          "sampler_overhead_s_per_trial": overhead} for i, v in enumerate(values)]
    return pd.DataFrame(rows)


def trials_to_reach(curves: pd.DataFrame, reference: str = "random", at: int = 50) -> dict:
    """Per sampler: the median over seeds of the first trial whose best-so-far reaches the median
    best of `at` `reference` trials (None where it never does), and the share of seeds that reach it."""
    target = float(curves[(curves["sampler"] == reference) & (curves["trial"] == min(at, curves["trial"].max()))]
                   ["best_so_far"].median())
    out = {"target_value": target, "reference": f"median best of {at} {reference} trials"}
    for name, g in curves.groupby("sampler"):
        firsts = [int(s["trial"][s["best_so_far"] <= target].min()) if (s["best_so_far"] <= target).any() else None
                  for _, s in g.groupby("seed")]
        reached = [f for f in firsts if f is not None]
        out[name] = {"median_trials": float(np.median(reached)) if reached else None,
                     "seeds_reaching": f"{len(reached)}/{len(firsts)}",
                     "overhead_s_per_trial": float(g["sampler_overhead_s_per_trial"].mean())}
    return out
