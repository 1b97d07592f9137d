"""The run's report: metrics table beside the seed paper's claims, parity plots, v(T), tuning history.

Inputs are the stable result files of the other stages (docs/CONTRACTS.md); outputs are
results/report/metrics.json (DESIGN.md keys), a Markdown summary and PNG figures that the
Snakemake HTML report embeds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from msgnn.io import atomic_path, read_json, write_json, save_figure  # noqa: E402
from msgnn.reference import published  # noqa: E402

TARGETS = ["growth_rate", "nucleation_density", "lambda"]
TARGET_LABELS = {"growth_rate": "log10 growth rate (m/s)",
                 "nucleation_density": "log10 nucleation density (1/m²)",
                 "lambda": "log10 λ (m)"}
# name in metrics.json -> training output folder. The headline models are the tuned ones: the
# MS-GNN and both baselines get the same Optuna budget; the *_default rows use config values.
MODEL_DIRS = {"msgnn": "msgnn_tuned", "mlp": "mlp_tuned", "svr": "svr_tuned",
              "msgnn_default": "msgnn", "mlp_default": "mlp", "svr_default": "svr", "mean": "mean"}


def improvement_percent(models: dict) -> float | None:
    """Mean over targets of the MS-GNN's RMSE reduction against the better of MLP and SVR (%)."""
    if not all(k in models for k in ("msgnn", "mlp", "svr")):
        return None
    gains = []
    for t in TARGETS:
        best_baseline = min(models["mlp"]["rmse"][t], models["svr"]["rmse"][t])
        if best_baseline > 0:
            gains.append(100 * (best_baseline - models["msgnn"]["rmse"][t]) / best_baseline)
    return float(np.mean(gains)) if gains else None


@dataclass
class ReportInputs:
    """The files the report reads (the report rule's inputs). Training outputs are named by their
    folder (results/train/<folder>/metrics.json, a value of MODEL_DIRS); models without files are
    left out of the report."""
    train_metrics: list
    train_predictions: list
    best_params: str | Path | None
    history: str | Path
    kinetics: list
    melting: list
    nucleation: list
    accuracy: str | Path
    recovery: str | Path
    growth: list = ()             # results/growth/{split}/metrics.json (the growth task), if run
    forecast: list = ()           # results/forecast/metrics.json (the macroscale forecast), if run
    library: list = ()            # the library's materials.csv the growth task read, if it exists
    growth_studies: list = ()     # results/growth/studies.json (learning curve, tuning efficiency), if run
    loss_histories: list = ()     # results/train/<folder>/loss_history.csv of the torch models


def _by_model(paths) -> dict[str, Path]:
    """{metrics name: path} for training outputs, in MODEL_DIRS order."""
    by_folder = {Path(p).parent.name: Path(p) for p in paths}
    return {name: by_folder[folder] for name, folder in MODEL_DIRS.items() if folder in by_folder}


def collect_metrics(train_metrics, best_params) -> dict:
    models = {name: read_json(path) for name, path in _by_model(train_metrics).items()}
    claims = published()["seed_paper_claims"]
    out = {
        "models": models,
        "improvement_over_best_baseline_percent": improvement_percent(models),
        "seed_paper_claims": claims,
        "units": "RMSE in log10 units of m/s (growth rate), 1/m^2 (nucleation density), m (lambda)",
    }
    if best_params:
        out["tuning"] = read_json(best_params)
    return out


def _fmt(x, digits=3):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:.{digits}g}"


def _ci(metrics: dict, target: str) -> str:
    ci = metrics.get("ci95", {})
    ci = ci.get(target) if isinstance(ci, dict) else None
    return f" [{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else ""


def metrics_table(metrics: dict) -> str:
    claims = metrics["seed_paper_claims"]
    rows = ["| model | growth rate | nucleation density | λ |", "|---|---|---|---|"]
    for name, m in metrics["models"].items():
        cells = [f"{_fmt(m['rmse'][t])}{_ci(m, t)}" for t in TARGETS]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    rows.append(f"| seed paper (MS-GNN, units not stated) | {claims['msgnn_rmse_growth_rate']} | "
                f"{claims['msgnn_rmse_nucleation_density']} | — |")
    imp = metrics.get("improvement_over_best_baseline_percent")
    rows.append("")
    rows.append(f"MS-GNN improvement over the better of MLP and SVR: {_fmt(imp)} % "
                f"(seed paper claims {claims['improvement_over_ann_svm_percent']} %).")
    return "\n".join(rows)


MELTING_KEYS = ["material", "potential", "melting_point_K", "uncertainty_K", "published_K", "method",
                "replica_melting_points_K"]


def melting_table(melting: list[dict], kinetics: dict[str, dict]) -> str:
    """Coexistence Tm beside the published value and the v(T) = 0 crossing of the growth runs."""
    rows = ["| material | potential | Tm coexistence (K) | ± (K) | published (K) | deviation | Tm from v(T) = 0 (K) |",
            "|---|---|---|---|---|---|---|"]
    for m in melting:
        pub = m.get("published_K")
        dev = (f"{100 * (m['melting_point_K'] - pub) / pub:+.1f} %"
               if pub and m.get("melting_point_K") is not None else "—")
        v0 = kinetics.get(m["material"], {}).get("melting_point_from_velocity", {})
        v0 = f"{_fmt(v0.get('melting_point_K'), 4)} ± {_fmt(v0.get('uncertainty_K'), 2)}" if v0 else "—"
        rows.append(f"| {m['material']} | {m.get('potential', '')} | {_fmt(m.get('melting_point_K'), 4)} | "
                    f"{_fmt(m.get('uncertainty_K'), 2)} | {pub} | {dev} | {v0} |")
    return "\n".join(rows)


def parity_plot(predictions: dict[str, Path], path: str | Path) -> None:
    """One panel per target; one colour per model; test-fold predictions vs measured values."""
    fig, axes = plt.subplots(1, len(TARGETS), figsize=(4.2 * len(TARGETS), 4))
    for name, csv in predictions.items():
        df = pd.read_csv(csv)
        if "split" in df:  # the headline folds; leave-one-material-out is reported in metrics.json
            df = df[df["split"] == "group_kfold"]
        for ax, t in zip(axes, TARGETS):
            sub = df[df["target"] == t]
            ax.scatter(sub["true"], sub["predicted"], s=14, alpha=0.7, label=name)
    for ax, t in zip(axes, TARGETS):
        lo, hi = ax.get_xlim()
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        ax.set_xlabel(f"measured {TARGET_LABELS[t]}")
        ax.set_ylabel("predicted")
    axes[0].legend(fontsize=8)
    fig.suptitle("Parity, held-out conditions (grouped folds)")
    save_figure(fig, path)


def velocity_plot(kinetics: dict[str, dict], path: str | Path) -> None:
    """Interface velocity against temperature per material and orientation, replica means ± 1 s.e."""
    fig, axes = plt.subplots(1, len(kinetics), figsize=(4.2 * len(kinetics), 3.6), squeeze=False)
    for ax, (material, kin) in zip(axes[0], kinetics.items()):
        for orient in dict.fromkeys(str(p.get("orientation", "100")) for p in kin["velocities"]):
            v = [p for p in kin["velocities"] if str(p.get("orientation", "100")) == orient]
            ax.errorbar([p["temperature_K"] for p in v], [p["velocity_m_per_s"] for p in v],
                        yerr=[p["stderr_m_per_s"] for p in v], fmt="o", capsize=3, label=f"({orient})")
        ax.axhline(0, color="k", lw=0.8)
        if kin.get("reference_melting_point_K"):
            ax.axvline(kin["reference_melting_point_K"], color="r", ls=":", label="published Tm")
        ax.legend(fontsize=8)
        ax.set_title(material)
        ax.set_xlabel("T (K)")
        ax.set_ylabel("interface velocity (m/s)")
    save_figure(fig, path)


def best_so_far(df: pd.DataFrame) -> pd.Series:
    """Running minimum of the trial values within each study (one per outer split and fold, in
    trial order); one study when the table has no split/fold columns."""
    keys = [k for k in ("split", "fold") if k in df]
    ordered = df.sort_values([*keys, "trial"], kind="stable")
    best = ordered.groupby(keys, sort=False)["value"].cummin() if keys else ordered["value"].cummin()
    return best.reindex(df.index)


def history_plot(history_csv: str | Path, path: str | Path) -> dict[str, pd.DataFrame]:
    """The tuning of every outer split: its trials and its own best-so-far curve (each split has
    its own study and search). Returns the curves drawn, {split/fold: trial, value, best_so_far}."""
    df = pd.read_csv(history_csv)
    df["best"] = best_so_far(df) if len(df) else []
    keys = [k for k in ("split", "fold") if k in df]
    groups = df.groupby(keys, sort=False) if keys else [("all trials", df)]
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    curves = {}
    for i, (key, g) in enumerate(groups):
        label = "/".join(map(str, key)) if isinstance(key, tuple) else str(key)
        g = g.sort_values("trial")
        colour = f"C{i % 10}"
        ax.plot(g["trial"], g["value"], "o", color=colour, alpha=0.4, ms=4)
        ax.step(g["trial"], g["best"], where="post", color=colour, label=label)
        curves[label] = g[["trial", "value", "best"]].rename(columns={"best": "best_so_far"})
    ax.set_xlabel("trial (within its study)")
    ax.set_ylabel("validation RMSE (log10, mean over targets)")
    ax.set_title("Optuna GPSampler: best so far per outer split")
    if curves:
        ax.legend(fontsize=7, ncol=2)
    save_figure(fig, path)
    return curves


def loss_plot(histories: dict[str, Path], path: str | Path) -> None:
    """Training and validation loss per epoch, one panel per model: every fold thin, the mean
    over the grouped folds bold (the folds' test samples are the validation set)."""
    fig, axes = plt.subplots(1, len(histories), figsize=(4.2 * len(histories), 3.6), squeeze=False,
                             layout="constrained")
    for ax, (name, csv) in zip(axes[0], histories.items()):
        df = pd.read_csv(csv)
        if "split" in df and (df["split"] == "group_kfold").any():
            df = df[df["split"] == "group_kfold"]
        for col, colour, label in (("train_loss", "C0", "train"), ("val_loss", "C1", "validation")):
            for _, g in df.groupby(["split", "fold"], sort=False):
                ax.plot(g["epoch"], g[col], color=colour, lw=0.7, alpha=0.35)
            mean = df.groupby("epoch")[col].mean()
            ax.plot(mean.index, mean.values, color=colour, lw=2, label=f"{label} (mean over folds)")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("MSE (standardised targets)")
        ax.legend(fontsize=7)
    save_figure(fig, path)


def nucleation_table(nucleation: list[dict]) -> str:
    """Homogeneous nucleation rates per material and temperature (MD replicas, survival analysis)."""
    rows = ["| material | T (K) | T/Tm | replicas nucleated | J (m⁻³ s⁻¹) | 95 % interval | critical size (atoms) |",
            "|---|---|---|---|---|---|---|"]
    for n in nucleation:
        if not n.get("temperatures"):
            rows.append(f"| {n['material']} | — | — | — | not simulated | {n.get('note', '')} | — |")
        for t in n.get("temperatures", []):
            tm = n.get("reference_melting_point_K") or float("nan")
            if t.get("J_per_m3_s"):
                j, ci = f"{t['J_per_m3_s']:.2e}", f"[{t['J_ci95'][0]:.1e}, {t['J_ci95'][1]:.1e}]"
            else:
                j, ci = "no event", f"< {t['J_upper95']:.1e} (one-sided)"
            ns = t.get("critical_cluster_size")
            rows.append(f"| {n['material']} | {t['temperature_K']:g} | {t['temperature_K'] / tm:.2f} | "
                        f"{t['n_events']}/{t['replicas']} | {j} | {ci} | {_fmt(ns, 3) if ns else '—'} |")
    return "\n".join(rows)


def segmentation_table(accuracy: dict) -> str:
    """Markdown table of the segmentation accuracy study by noise level (the default marked)."""
    rows = ["| noise | boundary F1 | grain-count error | mean-size (intercept) error | mean-diameter error "
            "| facet growth-rate error |", "|---|---|---|---|---|---|"]
    default = accuracy["default_noise"]["noise"]
    for r in accuracy["by_noise"]:
        mark = " (default)" if r["noise"] == default else ""
        rows.append(f"| {r['noise']:g}{mark} | {_fmt(r['boundary_f1'])} | {_fmt(r['grain_count_error'])} | "
                    f"{_fmt(r['mean_size_error'])} | {_fmt(r.get('mean_diameter_error'))} | "
                    f"{_fmt(r.get('facet_growth_error'))} |")
    n = accuracy["by_noise"][0].get("n_images")
    rows.append(f"\n{n} images per noise level, {accuracy.get('grains_per_image')} grains per "
                f"{accuracy.get('image_px')} px image; errors are means over images of |measured/true - 1|.")
    return "\n".join(rows)


def growth_section(blocks: dict[str, dict], claim_percent: float) -> str:
    """The growth task (msgnn.learn.lomo metrics per split kind): RMSE per model with its interval,
    and whether the seed paper's claim (the MS-GNN `claim_percent` % better than ANN/SVM) and the
    MS-GNN against the best baseline hold, said plainly."""
    names = {"lomo": "leave one material out", "lofo": "leave one structure family out"}
    parts = []
    for split, m in blocks.items():
        rows = [f"### {names.get(split, split)}: {m['n_materials']} materials, seeds {m['seeds']}"]
        if m.get("target_stderr_rms_m_per_s") is not None:
            rows.append(f"The measured velocities' own standard error (RMS over rows, from the replicas' scatter) is "
                        f"{_fmt(m['target_stderr_rms_m_per_s'])} m/s: no RMSE below it can be told apart.")
        rows += ["| model | RMSE v (m/s) | 95 % CI | relative RMSE by family |", "|---|---|---|---|"]
        for name, r in sorted(m["models"].items(), key=lambda kv: kv[1]["rmse"]["growth_rate"]):
            fam = ", ".join(f"{f} {_fmt(x, 2)}" for f, x in r["relative_rmse_by_family"].items())
            ci = r["rmse"]["ci95"]
            rows.append(f"| {name} | {_fmt(r['rmse']['growth_rate'])} | [{_fmt(ci[0])}, {_fmt(ci[1])}] | {fam} |")
        for key, label in (("msgnn_vs_ann_svm", "the better of ANN (MLP) and SVM"),
                           ("msgnn_vs_best", "the best baseline")):
            c = m.get(key)
            if not c:
                continue
            gain = 100 * (1 - c["rmse_ratio"])
            holds = c["ci95"][1] < 1 - claim_percent / 100
            rows.append(f"\nMS-GNN against {label} ({c['reference']}): RMSE ratio {_fmt(c['rmse_ratio'])} "
                        f"[{_fmt(c['ci95'][0])}, {_fmt(c['ci95'][1])}], "
                        f"{f'{gain:.0f} % better' if gain >= 0 else f'{-gain:.0f} % worse'}, Wilcoxon p = "
                        f"{_fmt(c['p_value'], 2)} over {c['n_materials']} held-out groups: the seed paper's "
                        f"{claim_percent:g} % claim **{'holds' if holds else 'does not hold'}** here"
                        + ("." if holds else " (the interval's upper end must lie below "
                                             f"{1 - claim_percent / 100:g}); more materials or a better MS-GNN would change it."))
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


FORECAST_TARGETS = {"final_nucleation_density_per_m2": "final nucleation density",
                    "final_mean_grain_size_m": "final λ (mean linear intercept)",
                    "reactor_growth_rate_m_per_s": "reactor G", "reactor_nucleation_rate_per_m3_s": "reactor B0"}


def library_section(materials_csv, out_dir) -> str:
    """The materials library the learning tasks read: materials per family, the excluded ones
    with their reasons, and its two figures (made by rule library), linked from out_dir."""
    import os

    lib = Path(materials_csv).parent
    t = pd.read_csv(materials_csv)
    excluded = t["excluded"].fillna("").astype(str).str.len() > 0
    fams = ", ".join(f"{f} {n}" for f, n in t[~excluded].groupby("family").size().items())
    rows = [f"{(~excluded).sum()} materials measured ({fams}), {excluded.sum()} excluded with the reason "
            f"(`{lib}/materials.csv`, docs/library.md):"]
    rows += [f"- {r.material}: {r.excluded}" for r in t[excluded].itertuples()]
    for name, caption in (("mu_vs_kinetic_scale.png", "kinetic coefficient against the hard-sphere scale"),
                          ("melting_point_vs_published.png", "coexistence Tm against published Tm")):
        if (lib / "figures" / name).exists():
            rows.append(f"\n![{caption}]({os.path.relpath(lib / 'figures' / name, out_dir)})")
    return "\n".join(rows)


def growth_studies_section(s: dict) -> str:
    """The learning curve and the samplers' tuning efficiency (msgnn.learn.growth_studies), said plainly."""
    t = s["tuning_efficiency"]
    rows = ["Learning curve (" + s["learning_curve_unit"] + "): " + "; ".join(
        f"{m} " + ", ".join(f"{n}: {_fmt(v)}" for n, v in c.items()) for m, c in s["learning_curve"].items()) + ".",
        f"Tuning efficiency on the real objective ({t['model']}'s inner-CV RMSE, {t['held_out']} held out, "
        f"{t['seeds']} seeds of {t['trials']} trials per sampler): trials to reach the {t['reference']} "
        f"({_fmt(t['target_value'])} m/s):",
        "| sampler | median trials | seeds reaching it | sampler's own time per trial (s) |", "|---|---|---|---|"]
    rows += [f"| {name} | {_fmt(t[name]['median_trials'])} | {t[name]['seeds_reaching']} | "
             f"{_fmt(t[name]['overhead_s_per_trial'], 2)} |" for name in ("gp", "tpe", "random") if name in t]
    gp, rnd = t.get("gp", {}), t.get("random", {})
    if gp and rnd:
        fewer = (gp.get("median_trials") is not None and rnd.get("median_trials") is not None
                 and gp["median_trials"] < rnd["median_trials"]
                 and int(gp["seeds_reaching"].split("/")[0]) >= int(rnd["seeds_reaching"].split("/")[0]))
        rows.append(f"\nThe seed paper's claim that GP-BO needs fewer evaluations than random search "
                    f"**{'holds' if fewer else 'does not hold'}** here"
                    + ("." if fewer else f" on this objective ({t['model']}); the MS-GNN's own objective "
                                         "(configs/full.yaml: growth_studies.tuning_model msgnn) may differ."))
    rows += ["\n![learning curve](../growth/learning_curve.png)", "![tuning efficiency](../growth/tuning_efficiency.png)"]
    return "\n".join(rows)


def forecast_section(m: dict) -> str:
    """The macroscale forecast (msgnn.learn.forecast metrics): RMSE in log10 units per target and
    model with its interval, the best model per target; labelled synthetic."""
    models = sorted({name for t in m["targets"].values() for name in t["models"]})
    rows = [f"Leave one material out, {m['targets'][next(iter(m['targets']))]['n_materials']} materials, "
            f"{m['n_conditions']} conditions; {'synthetic' if m.get('synthetic') else 'real'} micrographs and "
            f"reactor logs; budget: {m['budget']['sampler']}. RMSE in log10 units [95 % CI]:",
            "| target | " + " | ".join(models) + " | best |", "|---|" + "---|" * (len(models) + 1)]
    for key, t in m["targets"].items():
        cells = []
        for name in models:
            r = t["models"].get(name)
            cells.append(f"{_fmt(r['rmse_log10'])} [{_fmt(r['ci95'][0])}, {_fmt(r['ci95'][1])}]" if r else "")
        rows.append(f"| {FORECAST_TARGETS.get(key, key)} | " + " | ".join(cells) + f" | {t.get('best')} |")
    return "\n".join(rows)


def build(inputs: ReportInputs, out_dir) -> dict:
    """Write metrics.json, report.md and figures under out_dir; return the metrics."""
    out_dir = Path(out_dir)
    metrics = collect_metrics(inputs.train_metrics, inputs.best_params)
    melting = [{k: v for k, v in read_json(p).items() if k in MELTING_KEYS} for p in inputs.melting]
    kinetics = {}
    for p in inputs.kinetics:
        k = read_json(p)
        kinetics[k.get("material", Path(p).parent.name)] = k
    metrics["melting_points"] = melting
    nucleation = [read_json(p) for p in inputs.nucleation]
    metrics["nucleation"] = [{"material": n["material"], "rates": n.get("rates", [])} for n in nucleation]
    accuracy = read_json(inputs.accuracy)
    metrics["segmentation_accuracy"] = accuracy["default_noise"]
    metrics["reactor_recovery"] = read_json(inputs.recovery)["default_noise"]

    growth = {}
    for p in inputs.growth:
        g = read_json(p)
        growth[g.get("split", Path(p).parent.name)] = g
        metrics[g.get("split", Path(p).parent.name)] = g     # DESIGN.md: lomo.models.{name}.rmse.growth_rate ...
    studies = read_json(inputs.growth_studies[0]) if inputs.growth_studies else None
    if studies:
        metrics.setdefault("tuning", {}).update({k: v for k, v in studies.items() if k.startswith("trials_to_")})
        metrics["tuning"]["efficiency"] = studies["tuning_efficiency"]
        metrics["learning_curve"] = studies["learning_curve"]
    forecast = read_json(inputs.forecast[0]) if inputs.forecast else None
    if forecast:
        metrics["forecast"] = forecast
    predictions = _by_model(inputs.train_predictions)
    parity_plot({k: v for k, v in predictions.items() if k in ("msgnn", "mlp", "svr")}, out_dir / "parity.png")
    velocity_plot(kinetics, out_dir / "velocity.png")
    history_plot(inputs.history, out_dir / "optimisation_history.png")
    losses = {k: v for k, v in _by_model(inputs.loss_histories).items() if k in ("msgnn", "mlp", "msgnn_default", "mlp_default")}
    if losses:
        loss_plot(losses, out_dir / "loss_curves.png")

    mu_rows = ["| material | orientation | μ (m/s/K) | 95 % CI |", "|---|---|---|---|"]
    for material, k in kinetics.items():
        for orient, o in k.get("orientations", {}).items():
            ci = o.get("ci95") or [None, None]
            mu_rows.append(f"| {material} | ({orient}) | {_fmt(o.get('mu_m_per_s_per_K'))} | "
                           f"[{_fmt(ci[0])}, {_fmt(ci[1])}] |")
    seg, rec = metrics["segmentation_accuracy"], metrics["reactor_recovery"]
    text = "\n\n".join([
        "# msgnn run report",
        "Synthetic experiments: micrographs and reactor logs were generated from the MD kinetics "
        "unless config pointed to real files (each stage's outputs say which).",
        "## Model accuracy (RMSE, log10 units; mean and 95 % CI over grouped folds)",
        metrics_table(metrics),
        *(["## The materials library", library_section(inputs.library[0], out_dir)] if inputs.library else []),
        *(["## Growth of materials never seen in training (the materials library; docs/learning_task.md)",
            growth_section(growth, published()["seed_paper_claims"]["improvement_over_ann_svm_percent"]),
            "\n\n".join(f"![{k} parity](../growth/{k}/parity.png)" for k in growth)] if growth else []),
        *(["### Learning curve and tuning efficiency", growth_studies_section(studies)] if studies else []),
        *(["## Macroscale forecast: the late microstructure and reactor from an early frame (docs/learning_task.md, task 2)",
            forecast_section(forecast)] if forecast else []),
        "## Melting points (NPH two-phase coexistence; mean ± standard error over replicas)",
        melting_table(melting, kinetics),
        "## Kinetic coefficients",
        "\n".join(mu_rows),
        *(["## Homogeneous nucleation (MD replicas; J from the censored survival data)",
            nucleation_table(nucleation)] if nucleation else []),
        "## Segmentation accuracy (synthetic micrographs with known grains)",
        segmentation_table(accuracy),
        "## Stage accuracy at default noise",
        f"Segmentation: boundary F1 {_fmt(seg.get('boundary_f1'))}, grain-count error "
        f"{_fmt(seg.get('grain_count_error'))}, mean-size error {_fmt(seg.get('mean_size_error'))}.  \n"
        f"Reactor kinetics recovery: G error {_fmt(rec.get('growth_rate_error'))}, "
        f"B0 error {_fmt(rec.get('nucleation_rate_error'))}.",
        "## Figures",
        "![parity](parity.png)\n\n![v(T)](velocity.png)\n\n![tuning](optimisation_history.png)"
        + ("\n\n![training and validation loss](loss_curves.png)" if losses else ""),
    ]) + "\n"
    with atomic_path(out_dir / "report.md") as tmp:
        tmp.write_text(text)
    write_json(out_dir / "metrics.json", metrics)
    return metrics
