"""Training and grouped cross-validation of the MS-GNN and the baselines on the same splits.

Every model sees the same splits (results/dataset/splits.json): GroupKFold by condition and,
reported separately, leave-one-material-out. Within a fold all standardisation (node/edge
features, conditions vector, targets) uses statistics of the training samples only. Torch models
use Adam with weight decay and an exponential learning-rate decay (``lr_decay`` per epoch).

Every torch fit can record its loss history: per epoch the training loss (mean over the epoch's
batches) and the validation loss (MSE of the held-out samples, both in standardised target units
with the training statistics); the validation samples are only scored, never trained on or used to
stop. The `train` rule writes it per model (``loss_history.csv``: one row per fold and epoch) and
its mean over the grouped folds (``loss_curve.csv``, the DVC plot).

Scoring is per *condition*: the predictions of a condition's samples are averaged (all samples
of one condition share its targets) and the RMSE per target is taken over the test conditions of
the fold, in log10 units. Reported: mean over folds and a 95 % Student-t confidence interval.
"""
from __future__ import annotations

import logging
import math
import time

import numpy as np
import pandas as pd
import torch
from scipy import stats
from sklearn.preprocessing import StandardScaler
from torch_geometric.loader import DataLoader

from msgnn.io import atomic_path, read_json, write_json
from msgnn.learn.dataset import TARGETS, load_samples
from msgnn.learn.model import MLP, MSGNN, MeanPredictor, descriptors, make_svr
from msgnn.learn.settings import TrainSettings

log = logging.getLogger(__name__)

MODELS = ("msgnn", "mlp", "svr", "mean")
DESCRIPTOR_MODELS = ("mlp", "svr")     # the baselines on the descriptor matrix (model/baselines.py)
TORCH_KEYS = ("epochs", "hidden", "layers_per_scale", "attention_dim", "lr", "batch_size",
              "weight_decay", "lr_decay")
# the baselines' hyperparameters that config["train"] does not set (tuning overrides them)
BASELINE_DEFAULTS = {"mlp": {"mlp_layers": 2}, "svr": {"C": 1.0, "epsilon": 0.1, "gamma": "scale"}}
SPLIT_KINDS = ("group_kfold", "leave_one_material_out")


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' -> cuda when available, else cpu."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but no CUDA device is available")
    return torch.device(name)


def seed_everything(seed: int) -> torch.Generator:
    seed = int(seed) % (2 ** 31)
    torch.manual_seed(seed)
    np.random.seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


# ------------------------------------------------------------------------- standardisation

_FIELDS = (("atom", "x"), ("cluster", "x"), ("facet", "x"),
           (("atom", "bond", "atom"), "edge_attr"), (("facet", "adj", "facet"), "edge_attr"))


class Standardizer:
    """Per-feature mean/std of node, edge, conditions and target tensors over training samples."""

    def fit(self, samples) -> "Standardizer":
        self.stats = {}
        for key, attr in _FIELDS:
            x = torch.cat([getattr(s[key], attr) for s in samples])
            self.stats[(key, attr)] = self._ms(x)
        self.stats["cond"] = self._ms(torch.cat([s.cond for s in samples]))
        self.stats["y"] = self._ms(torch.cat([s.y for s in samples]))
        return self

    @staticmethod
    def _ms(x: torch.Tensor):
        m = x.mean(0) if x.shape[0] else torch.zeros(x.shape[1])
        sd = x.std(0, unbiased=False) if x.shape[0] > 1 else torch.ones(x.shape[1])
        # constant columns (sd ~ float rounding of the mean) are centred only; the test is
        # relative because SI features can be tiny (areas ~1e-14 m^2)
        const = (sd == 0) | (sd <= 1e-6 * m.abs())
        return m, torch.where(const, torch.ones_like(sd), sd)

    def transform(self, sample):
        s = sample.clone()
        for key, attr in _FIELDS:
            m, sd = self.stats[(key, attr)]
            setattr(s[key], attr, (getattr(sample[key], attr) - m) / sd)
        m, sd = self.stats["cond"]
        s.cond = (sample.cond - m) / sd
        m, sd = self.stats["y"]
        s.y = (sample.y - m) / sd
        return s

    def inverse_y(self, y: np.ndarray) -> np.ndarray:
        m, sd = self.stats["y"]
        return y * sd.numpy() + m.numpy()


# ---------------------------------------------------------------------------- torch loops

def _optimizer(model, params):
    opt = torch.optim.Adam(model.parameters(), lr=float(params["lr"]),
                           weight_decay=float(params["weight_decay"]))
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=float(params["lr_decay"]))
    return opt, sched


def _record(history: list | None, epoch: int, train_loss: float, val_loss: float | None) -> None:
    if history is not None:
        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})


def fit_msgnn(train_samples, params: dict, *, seed: int, device="cpu", val_samples=None,
              history: list | None = None) -> tuple[MSGNN, list[float]]:
    """Train an MS-GNN on already standardised samples; returns the model and the loss per epoch.

    ``history``: a list that gets one ``{"epoch", "train_loss", "val_loss"}`` row per epoch;
    ``val_loss`` is the MSE of ``val_samples`` (None without them), evaluated after the epoch's
    updates with the model in eval mode. Scoring them leaves the random streams of the training
    untouched, so the fit is the same with or without them."""
    g = seed_everything(seed)
    device = torch.device(device)
    model = MSGNN.from_sample(train_samples[0], hidden=int(params["hidden"]),
                              layers_per_scale=int(params["layers_per_scale"]),
                              attention_dim=int(params["attention_dim"]), n_targets=len(TARGETS)).to(device)
    opt, sched = _optimizer(model, params)
    loader = DataLoader(train_samples, batch_size=int(params["batch_size"]), shuffle=True, generator=g)
    # its own generator: a DataLoader iterator draws a seed from the global stream otherwise
    val_loader = (DataLoader(val_samples, batch_size=max(32, int(params["batch_size"])), generator=torch.Generator())
                  if val_samples else None)
    losses = []
    for epoch in range(int(params["epochs"])):
        model.train()
        total, n = 0.0, 0
        for batch in loader:
            batch = batch.to(device)
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(batch), batch.y)
            loss.backward()
            opt.step()
            total += loss.item() * batch.cond.shape[0]
            n += batch.cond.shape[0]
        sched.step()
        losses.append(total / n)
        if history is not None:
            _record(history, epoch, losses[-1], _msgnn_loss(model, val_loader, device) if val_loader else None)
    return model, losses


@torch.no_grad()
def _msgnn_loss(model, loader, device) -> float:
    model.eval()
    total, n = 0.0, 0
    for batch in loader:
        batch = batch.to(device)
        total += torch.nn.functional.mse_loss(model(batch), batch.y, reduction="sum").item()
        n += batch.y.numel()
    return total / n


@torch.no_grad()
def predict_msgnn(model, samples, *, device="cpu", batch_size: int = 32) -> np.ndarray:
    model.eval()
    out = [model(b.to(device)).cpu() for b in DataLoader(samples, batch_size=batch_size)]
    return torch.cat(out).numpy()


def fit_mlp(X: np.ndarray, y: np.ndarray, params: dict, *, seed: int, device="cpu", X_val=None, y_val=None,
            history: list | None = None):
    """Train the descriptor MLP on standardised X (n, D), y (n, T); returns model and losses.
    ``history``, ``X_val``, ``y_val``: as ``history`` and ``val_samples`` of :func:`fit_msgnn`."""
    g = seed_everything(seed)
    device = torch.device(device)
    model = MLP(X.shape[1], hidden=int(params["hidden"]), layers=int(params["mlp_layers"]),
                n_targets=y.shape[1]).to(device)
    opt, sched = _optimizer(model, params)
    Xt = torch.tensor(X, dtype=torch.float32, device=device)
    yt = torch.tensor(y, dtype=torch.float32, device=device)
    has_val = X_val is not None and len(X_val)
    if has_val:
        Xv = torch.tensor(X_val, dtype=torch.float32, device=device)
        yv = torch.tensor(y_val, dtype=torch.float32, device=device)
    bs = int(params["batch_size"])
    losses = []
    for epoch in range(int(params["epochs"])):
        model.train()
        perm = torch.randperm(len(Xt), generator=g).to(device)
        total = 0.0
        for i in range(0, len(Xt), bs):
            idx = perm[i:i + bs]
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        losses.append(total / len(Xt))
        if history is not None:
            val = None
            if has_val:
                model.eval()
                with torch.no_grad():
                    val = torch.nn.functional.mse_loss(model(Xv), yv).item()
            _record(history, epoch, losses[-1], val)
    return model, losses


# --------------------------------------------------------------------------- fit / predict

def fit_predict(model_name: str, samples, train_idx, test_idx, params: dict, *, seed: int,
                device="cpu", X: np.ndarray | None = None, history: list | None = None) -> np.ndarray:
    """Fit `model_name` on samples[train_idx], return log10 predictions (len(test_idx), T).

    ``X``: the descriptor matrix of all `samples` for the descriptor baselines; computed here when
    not given (callers that fit many times compute it once). ``history``: a list that gets the
    torch models' loss per epoch, the test samples as validation set (:func:`fit_msgnn`); the
    SVR and the mean predictor have no epochs and add nothing."""
    train = [samples[i] for i in train_idx]
    test = [samples[i] for i in test_idx]
    y_tr = torch.cat([s.y for s in train]).numpy().astype(np.float64)
    if model_name == "mean":
        return MeanPredictor().fit(None, y_tr).predict(test)
    if model_name == "msgnn":
        st = Standardizer().fit(train)
        test_st = [st.transform(s) for s in test]
        model, _ = fit_msgnn([st.transform(s) for s in train], params, seed=seed, device=device,
                             val_samples=test_st if history is not None else None, history=history)
        pred = predict_msgnn(model, test_st, device=device)
        return st.inverse_y(pred)
    # descriptor baselines: standardise X and y with training statistics
    X = descriptors(samples) if X is None else X
    xs = StandardScaler().fit(X[train_idx])
    ys = StandardScaler().fit(y_tr)
    X_tr, X_te = xs.transform(X[train_idx]), xs.transform(X[test_idx])
    Y_tr = ys.transform(y_tr)
    if model_name == "mlp":
        y_te = torch.cat([s.y for s in test]).numpy().astype(np.float64)
        val = (X_te, ys.transform(y_te)) if history is not None else (None, None)
        model, _ = fit_mlp(X_tr, Y_tr, params, seed=seed, device=device, X_val=val[0], y_val=val[1],
                           history=history)
        model.eval()
        with torch.no_grad():
            pred = model(torch.tensor(X_te, dtype=torch.float32, device=device)).cpu().numpy()
        return ys.inverse_transform(pred)
    if model_name == "svr":
        svr = make_svr(C=float(params["C"]), epsilon=float(params["epsilon"]), gamma=params["gamma"])
        return ys.inverse_transform(svr.fit(X_tr, Y_tr).predict(X_te))
    raise ValueError(f"unknown model {model_name!r}; expected one of {MODELS}")


def condition_table(samples, idx, pred: np.ndarray) -> pd.DataFrame:
    """Per-condition mean of the sample predictions, long format with true and predicted."""
    rows = []
    for i, p in zip(idx, pred):
        s = samples[i]
        for t, name in enumerate(TARGETS):
            rows.append(dict(condition=s.condition, material=s.material, temperature_K=s.temperature_K,
                             target=name, true=float(s.y[0, t]), predicted=float(p[t])))
    df = pd.DataFrame(rows)
    return (df.groupby(["condition", "material", "temperature_K", "target"], sort=False)
              .agg(true=("true", "first"), predicted=("predicted", "mean"), n_samples=("true", "size"))
              .reset_index())


def rmse_by_target(df: pd.DataFrame) -> dict:
    return {t: float(np.sqrt(((g["predicted"] - g["true"]) ** 2).mean()))
            for t, g in df.groupby("target", sort=False)}


def mean_ci95(values) -> tuple[float, list | None]:
    """Mean and 95 % Student-t interval over folds (lower end clipped at 0); None for one fold."""
    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if len(v) < 2:
        return m, None
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return m, [max(0.0, m - half), m + half]  # an RMSE is >= 0


def _summary(fold_rmses: list[dict]) -> dict:
    out = {"rmse": {}, "ci95": {}}
    for t in TARGETS:
        m, ci = mean_ci95([f[t] for f in fold_rmses])
        out["rmse"][t], out["ci95"][t] = m, ci
    out["rmse_mean_over_targets"] = float(np.mean([out["rmse"][t] for t in TARGETS]))
    return out


def cross_validate(samples, splits: dict, model_name: str, params: dict, *, seed: int,
                   device="cpu", params_for_split=None, kinds=SPLIT_KINDS,
                   loss_history: list | None = None) -> tuple[dict, pd.DataFrame]:
    """Evaluate `model_name` on every split of `kinds`; returns (metrics dict, predictions table).

    ``params_for_split(kind, name)`` may override the params per split (tuned per outer fold).
    ``loss_history``: a list that gets one row ``{split, fold, epoch, train_loss, val_loss}`` per
    fold and epoch of a torch model (the fold's test samples as validation set).
    """
    t0 = time.time()
    metrics: dict = {}
    tables = []
    X = descriptors(samples) if model_name in DESCRIPTOR_MODELS else None
    for kind in kinds:
        folds = []
        for k, e in enumerate(splits.get(kind, [])):
            p = params_for_split(kind, e["name"]) if params_for_split else params
            hist = [] if loss_history is not None else None
            pred = fit_predict(model_name, samples, e["train"], e["test"], p, seed=seed + 1000 * k,
                               device=device, X=X, history=hist)
            if hist:
                loss_history.extend({"split": kind, "fold": e["name"], **row} for row in hist)
            tab = condition_table(samples, e["test"], pred)
            tab.insert(0, "fold", e["name"])
            tab.insert(0, "split", kind)
            tables.append(tab)
            r = rmse_by_target(tab)
            folds.append(dict(name=e["name"], test_conditions=e["test_conditions"], rmse=r))
            log.info("%s %s %s: rmse %s", model_name, kind, e["name"],
                     {t: round(v, 4) for t, v in r.items()})
        if folds:
            metrics[kind] = {**_summary([f["rmse"] for f in folds]), "folds": folds}
    gk = metrics.get("group_kfold", {})
    out = {"model": model_name, "units": "log10",
           "rmse": gk.get("rmse"), "ci95": gk.get("ci95"),
           "rmse_mean_over_targets": gk.get("rmse_mean_over_targets"),
           "evaluation": "GroupKFold by condition; sample predictions averaged per condition; "
                         "RMSE over test conditions per fold, mean and 95% t-interval over folds",
           **metrics, "seed": int(seed), "device": str(device),
           "n_samples": len(samples),
           "n_conditions": len({s.condition for s in samples}),
           "synthetic": bool(any(getattr(s, "synthetic", True) for s in samples))}
    if not params_for_split:
        out["params"] = params
    preds = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    preds["synthetic"] = out["synthetic"]
    log.info("%s: cross-validation done in %.1f s", model_name, time.time() - t0)
    return out, preds


HISTORY_COLUMNS = ["split", "fold", "epoch", "train_loss", "val_loss"]


def loss_tables(rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The loss history (one row per split, fold and epoch) and its curve: per epoch the mean over
    the grouped folds (leave-one-material-out folds when there are none) of both losses. Both
    are empty tables with their columns for a model without epochs (SVR, mean)."""
    hist = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    kind = "group_kfold" if (hist["split"] == "group_kfold").any() else None
    sub = hist[hist["split"] == kind] if kind else hist
    curve = (sub.groupby("epoch", sort=True)[["train_loss", "val_loss"]].mean().reset_index()
             if len(sub) else pd.DataFrame(columns=["epoch", "train_loss", "val_loss"]))
    return hist, curve


def model_params(model_name: str, train: TrainSettings) -> dict:
    """Untuned hyperparameters of a model: the torch models' from config["train"]."""
    if model_name == "mean":
        return {}
    if model_name == "svr":
        return dict(BASELINE_DEFAULTS["svr"])
    return {**{k: getattr(train, k) for k in TORCH_KEYS}, **BASELINE_DEFAULTS.get(model_name, {})}


def run_training(samples_path, splits_path, metrics_path, predictions_path, *, model: str,
                 train: TrainSettings, seed: int, best_params_path=None, threads: int | None = None,
                 loss_history_path=None, loss_curve_path=None) -> dict:
    """The `train` rule: cross-validate one model and write metrics.json and predictions.csv,
    and, when their paths are given, loss_history.csv and loss_curve.csv (:func:`loss_tables`).

    ``model`` is one of msgnn, mlp, svr, mean, or ``<name>_tuned`` (then ``best_params_path``
    gives the per-split tuned hyperparameters from :mod:`msgnn.learn.tune`).
    """
    if threads:
        torch.set_num_threads(int(threads))
    samples = load_samples(samples_path)
    splits = read_json(splits_path)
    base = model.removesuffix("_tuned")
    if base not in MODELS:
        raise ValueError(f"unknown model {model!r}")
    device = resolve_device(train.device)
    params = model_params(base, train)
    per_split, kinds = None, SPLIT_KINDS
    if model.endswith("_tuned"):
        if best_params_path is None:
            raise ValueError(f"{model} needs best_params_path")
        best = read_json(best_params_path)
        # only the outer splits that were tuned inside their own training data are evaluated
        kinds = tuple(k for k in SPLIT_KINDS if any(key.startswith(k + "/") for key in best["splits"]))

        def per_split(kind, name):
            tuned = best["splits"][f"{kind}/{name}"]["params"]
            return {**params, **tuned, "epochs": train.epochs} if base != "svr" else {**params, **tuned}
    rows = []
    metrics, preds = cross_validate(samples, splits, base, params, seed=seed, device=device,
                                    params_for_split=per_split, kinds=kinds, loss_history=rows)
    metrics["model"] = model
    if per_split:
        metrics["params_per_split"] = {f"{k}/{e['name']}": per_split(k, e["name"])
                                       for k in kinds for e in splits.get(k, [])}
        metrics["tuned_splits"] = list(kinds)
    write_json(metrics_path, metrics)
    with atomic_path(predictions_path) as tmp:
        preds.to_csv(tmp, index=False)
    hist, curve = loss_tables(rows)
    for path, table in ((loss_history_path, hist), (loss_curve_path, curve)):
        if path is not None:
            with atomic_path(path) as tmp:
                table.to_csv(tmp, index=False)
    return metrics
