"""The macroscale forecast (issue 14, task 2; docs/learning_task.md): from early observations,
predict the late ones. Inputs: the facet graph of an early in-situ frame (at most ~10 %
transformed), the atomic inputs of the growth task and the process set-points (T, residence time,
supersaturation). Targets: the final nucleation density and mean grain size lambda (measured on the
final micrograph) and the reactor's steady-state G and B0 -- never an input.

The data are synthetic, one row per library condition below Tm at the material's primary
orientation, made by the workflow's own chain (nothing re-implemented here):

* micrographs: J_A and G from the MD kinetics (msgnn.microscopy.pipeline.micrograph_kinetics), a
  JMAK microstructure and its in-situ series (natural_microstructure, series_times, render_series):
  a reference frame before nucleation, one early frame at a transformed fraction drawn from
  `early_fraction`, the final micrograph;
* early frame -> crystal masks (msgnn.microscopy.growth.crystal_masks, the real-series path) ->
  crystals (connected components) -> facet graph and grain statistics (msgnn.microscopy.facets);
* final micrograph -> segment_grains -> grain_statistics (nucleation density, lambda);
* reactor: msmpr_truth (G = v x growth_scale, B0 classical), then a generated log cleaned and
  fitted (msgnn.reactor.pipeline.analyse) when `reactor_fit`, else the generator's truth.

Every row is labelled synthetic=True. Targets are learned and scored as log10.
"""
from __future__ import annotations

import logging
import math
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage as ndi
from threadpoolctl import threadpool_limits

from msgnn.errors import SimulationError
from msgnn.kinetics import ClassicalNucleation
from msgnn.learn import lomo
from msgnn.learn.growth import INPUTS as GROWTH_INPUTS, SCALAR_INPUTS, Input, growth_table
from msgnn.microscopy.facets import FACET_FEATURES, facet_graph, grain_statistics
from msgnn.microscopy.growth import crystal_masks
from msgnn.microscopy.pipeline import micrograph_kinetics, natural_microstructure
from msgnn.microscopy.segment import segment_grains
from msgnn.microscopy.simulate import (final_grain_density_per_m2, length_scale_m, render_series, series_times,
                                       time_scale_s)
from msgnn.reactor.generate import generate_log, msmpr_truth
from msgnn.reactor.settings import LogGenerator

log = logging.getLogger(__name__)

#: the primary slab orientation of each family (config md.orientation; hcp: basal), the one the
#: workflow's micrographs and reactor logs are made from
PRIMARY = {"fcc": "100", "bcc": "100", "diamond": "100", "hcp": "0001"}
_EARLY = "early in-situ frame (synthetic: render_series)"
_EARLY_HOW = "crystal_masks vs the pre-nucleation frame -> connected crystals -> facet_graph / grain_statistics"
EARLY_INPUTS = [
    Input("early_log10_crystal_density_per_m2", _EARLY, "crystals per field area (border-half count)", _EARLY_HOW),
    Input("early_transformed_fraction", _EARLY, "crystal pixels / field pixels", _EARLY_HOW),
    Input("early_log10_mean_diameter_m", _EARLY, "mean equivalent-circle diameter of the crystals", _EARLY_HOW),
    Input("early_log10_max_diameter_m", _EARLY, "largest equivalent-circle diameter", _EARLY_HOW),
    Input("early_mean_eccentricity", _EARLY, "mean facet eccentricity", _EARLY_HOW),
    Input("early_contacts_per_crystal", _EARLY, "facet-graph edges per crystal (impingement)", _EARLY_HOW),
    Input("early_log10_time_s", _EARLY, "frame time since the quench", "the microscope's clock"),
    Input("jmak_log10_areal_rate_per_m2_s", _EARLY, "J_A = N / (t (1 - X_ext/4)), X_ext = -ln(1 - X)", "Avrami, from the early-frame inputs above"),
    Input("jmak_log10_growth_speed_m_per_s", _EARLY, "G = sqrt(3 X_ext / (pi J_A t^3))", "Avrami, from the early-frame inputs above"),
    Input("jmak_log10_final_density_per_m2", _EARLY, "N_A = GRAIN_DENSITY_FACTOR (J_A / G)^(2/3)", "Avrami, from the early-frame inputs above"),
    Input("jmak_log10_inverse_sqrt_density_m", _EARLY, "N_A^(-1/2) (lambda up to a constant)", "Avrami, from the early-frame inputs above"),
]
SETPOINTS = [
    Input("temperature_K", "kinetics.csv key", "temperature_K (the growth condition)", "config set-point"),
    Input("residence_time_s", "config reactor", "residence_time_s", "config set-point"),
    Input("supersaturation", "kinetics.csv key + materials.csv", "(Tm - T) / Tm", "config set-point; md_melting"),
]
INPUTS = [*EARLY_INPUTS, *SETPOINTS, *(i for i in GROWTH_INPUTS if i.name in SCALAR_INPUTS)]
FEATURES = [i.name for i in INPUTS]
_FINAL = "final micrograph (synthetic: render_series)"
TARGETS = [
    Input("final_nucleation_density_per_m2", _FINAL, "segment_grains -> grain_statistics: nucleation_density_per_m2", "JMAK, after the transformation"),
    Input("final_mean_grain_size_m", _FINAL, "segment_grains -> grain_statistics: mean_grain_size_m (lambda, mean linear intercept)", "JMAK, after the transformation"),
    Input("reactor_growth_rate_m_per_s", "reactor log (synthetic: generate_log)", "MSMPR fit of the steady state (msgnn.reactor.pipeline.analyse), or the generator's G", "msmpr_truth: G = MD velocity x growth_scale"),
    Input("reactor_nucleation_rate_per_m3_s", "reactor log (synthetic: generate_log)", "MSMPR fit of the steady state, or the generator's B0", "msmpr_truth: B0 classical nucleation"),
]
#: what no input may be read from: the late observations and the MD growth runs' velocity
FORBIDDEN_SOURCES = ("final micrograph", "reactor log", "kinetics.csv velocity", "md_run", "md_kinetics")
#: the JMAK physics baseline: log10 target = this column + a constant fitted on the training materials
PHYSICS = {"final_nucleation_density_per_m2": "jmak_log10_final_density_per_m2",
           "final_mean_grain_size_m": "jmak_log10_inverse_sqrt_density_m",
           "reactor_growth_rate_m_per_s": "jmak_log10_growth_speed_m_per_s",
           "reactor_nucleation_rate_per_m3_s": "jmak_log10_areal_rate_per_m2_s"}
KEY = ["material", "family", "orientation", "temperature_K"]


def row_key(row) -> tuple:
    """A table row's key in the side dict of early facet graphs (forecast_table's `graphs`)."""
    return tuple(row[k] for k in KEY)


def inputs_markdown() -> str:
    """The provenance table of docs/learning_task.md: every input and target, where it is read from, how, and what made it."""
    rows = ["| input | read from | how | produced by |", "|---|---|---|---|"]
    rows += [f"| `{i.name}` | {i.file} | {i.read_as} | {i.run} |" for i in INPUTS]
    rows += [f"| **target** `{t.name}` | {t.file} | {t.read_as} | {t.run} |" for t in TARGETS]
    return "\n".join(rows)


@dataclass(frozen=True)
class ForecastSettings:
    image_px: int = 160                 # small fields: a condition costs well under a second
    grains_per_image: int = 40
    noise: float = 0.08
    blur_px: float = 1.0
    early_fraction: tuple = (0.03, 0.10)   # expected transformed fraction of the early frame, drawn per condition
    reactor_fit: bool = True            # targets G, B0 from a generated log's fit (~1.5 s), else the generator's truth


def early_features(reference: np.ndarray, frame: np.ndarray, pixel_size_m: float, time_s: float) -> dict:
    """EARLY_INPUTS of one early frame, measured as on a real series, and the Avrami estimates."""
    return early_frame(reference, frame, pixel_size_m, time_s)[0]


def early_frame(reference: np.ndarray, frame: np.ndarray, pixel_size_m: float, time_s: float) -> tuple[dict, dict]:
    """early_features and the early frame's facet graph (msgnn.microscopy.facets.facet_graph of the
    connected crystals; the MS-GNN head reads it whole)."""
    mask = crystal_masks(frame[None], reference)[0][0]
    crystals, _ = ndi.label(mask)
    g = facet_graph(crystals, frame, pixel_size_m)
    x = g["facet_x"].double().numpy()
    n = x.shape[0]
    diam = x[:, FACET_FEATURES.index("equivalent_diameter_m")] if n else np.array([pixel_size_m])
    density = max(grain_statistics(crystals, pixel_size_m)["n_grains"], 0.5) / (crystals.size * pixel_size_m ** 2)
    X = float(np.clip(mask.mean(), 0.5 / mask.size, 0.9))
    x_ext = -math.log1p(-X)
    ja = density / (time_s * (1 - x_ext / 4))
    G = math.sqrt(3 * x_ext / (math.pi * ja * time_s ** 3))
    return {"early_log10_crystal_density_per_m2": math.log10(density), "early_transformed_fraction": X,
            "early_log10_mean_diameter_m": math.log10(diam.mean()), "early_log10_max_diameter_m": math.log10(diam.max()),
            "early_mean_eccentricity": float(x[:, FACET_FEATURES.index("eccentricity")].mean()) if n else 0.0,
            "early_contacts_per_crystal": g["facet_edge_index"].shape[1] / 2 / max(n, 1),
            "early_log10_time_s": math.log10(time_s),
            "jmak_log10_areal_rate_per_m2_s": math.log10(ja), "jmak_log10_growth_speed_m_per_s": math.log10(G),
            "jmak_log10_final_density_per_m2": math.log10(final_grain_density_per_m2(ja, G)),
            "jmak_log10_inverse_sqrt_density_m": -0.5 * math.log10(final_grain_density_per_m2(ja, G))}, g


def final_targets(final: np.ndarray, pixel_size_m: float) -> dict:
    labels, _ = segment_grains(final)
    s = grain_statistics(labels, pixel_size_m)
    return {"final_nucleation_density_per_m2": s["nucleation_density_per_m2"],
            "final_mean_grain_size_m": s["mean_grain_size_m"] or float("nan")}


def reactor_targets(run: dict, T: float, Tm: float, generator: LogGenerator, nucleation: ClassicalNucleation,
                    fit: bool, seed: int) -> dict:
    truth = msmpr_truth(run, temperature_K=T, melting_point_K=Tm, generator=generator, nucleation=nucleation)
    out = {"truth_growth_rate_m_per_s": truth["growth_rate_m_per_s"],
           "truth_nucleation_rate_per_m3_s": truth["nucleation_rate_per_m3_s"]}
    if not fit:
        return {**out, "reactor_growth_rate_m_per_s": out["truth_growth_rate_m_per_s"],
                "reactor_nucleation_rate_per_m3_s": out["truth_nucleation_rate_per_m3_s"]}
    from msgnn.reactor.pipeline import analyse, write_raw_csv
    table, _ = generate_log(truth, generator, seed=seed)
    with tempfile.TemporaryDirectory() as d:
        write_raw_csv(table, Path(d) / "log.csv")
        f = analyse(Path(d) / "log.csv")[3]
    return {**out, "reactor_growth_rate_m_per_s": f["growth_rate_m_per_s"],
            "reactor_nucleation_rate_per_m3_s": f["nucleation_rate_per_m3_s"]}


def _condition(row, settings: ForecastSettings, generator: LogGenerator, nucleation: ClassicalNucleation,
               seed: int) -> tuple[dict, dict]:
    """One row: early-frame inputs, set-points, final-micrograph and reactor targets; and the early
    frame's facet graph."""
    T, Tm = float(row["temperature_K"]), float(row["melting_point_K"])
    v, L, vat = float(row["velocity_m_per_s"]), float(row["latent_heat_eV_per_atom"]), row["crystal_volume_per_atom_A3"] * 1e-30
    kin = micrograph_kinetics(v, L, vat, T, Tm, nucleation, source=f"{row['material']} {T:g} K")
    ja, G = kin["areal_nucleation_rate_per_m2_s"], kin["growth_speed_m_per_s"]
    ell, tau = length_scale_m(ja, G), time_scale_s(ja, G)
    rng = np.random.default_rng([seed, zlib.crc32(str(row["material"]).encode()), int(round(T))])
    x0 = rng.uniform(*settings.early_fraction)
    m = natural_microstructure(settings.image_px, settings.grains_per_image, rng)
    times = np.concatenate([[0.0], series_times(1, first_fraction=x0), [np.inf]])
    frames = render_series(m, times, rng, noise=settings.noise, blur_px=settings.blur_px)
    px = m.pixel_size_m * ell
    run = {"velocity_m_per_s": v, "latent_heat_eV_per_atom": L, "atomic_volume_m3": vat}
    early, graph = early_frame(frames[0], frames[1], px, times[1] * tau)
    return {**early,
            "residence_time_s": generator.residence_time_s, "supersaturation": (Tm - T) / Tm,
            **final_targets(frames[-1], px),
            **reactor_targets(run, T, Tm, generator, nucleation, settings.reactor_fit, int(rng.integers(2 ** 31))),
            "true_early_fraction": float(m.transformed_fraction(times[1])[0]), "synthetic": True}, graph


def forecast_table(library_dir, settings: ForecastSettings, generator: LogGenerator,
                   nucleation: ClassicalNucleation, seed: int, graphs: dict | None = None) -> pd.DataFrame:
    """One synthetic row per library condition below Tm at the primary orientation: KEY, FEATURES,
    the targets (TARGETS), the reactor generator's truth (truth_*), the early frame's true
    transformed fraction and synthetic=True. Conditions the chain cannot make (MD v <= 0, a
    nucleation rate too small for a microstructure) are left out and listed in attrs["skipped"].
    `graphs`: a dict, filled with row_key(row) -> the early frame's facet graph (facet_graph's
    dict: facet_x, facet_edge_index, facet_edge_attr, feature_names), the MS-GNN's input."""
    base = growth_table(library_dir)
    base = base[(base["orientation"] == base["family"].map(PRIMARY)) & (base["temperature_K"] < base["melting_point_K"])]
    rows, skipped, started = [], [], time.time()
    for _, r in base.iterrows():
        if not r["velocity_m_per_s"] > 0:
            skipped.append((r["material"], int(r["temperature_K"]), "MD velocity <= 0 below Tm"))
            continue
        try:
            row, graph = _condition(r, settings, generator, nucleation, seed)
            rows.append({**r[KEY].to_dict(), **r[SCALAR_INPUTS].to_dict(), **row})
            if graphs is not None:
                graphs[row_key(rows[-1])] = graph
        except SimulationError as e:
            skipped.append((r["material"], int(r["temperature_K"]), str(e)))
    out = pd.DataFrame(rows)
    out.attrs["skipped"] = skipped
    out.attrs["seconds_per_condition"] = (time.time() - started) / max(len(base), 1)
    log.info("forecast table: %d conditions (%d skipped) in %.1f s", len(out), len(skipped), time.time() - started)
    return out


class Calibrated:
    """The JMAK physics baseline: log10 target = the Avrami estimate (a PHYSICS column) + one
    constant fitted on the training rows (the segmentation's bias, growth_scale, film thickness)."""

    def __init__(self, column: str):
        self.column = column

    def fit(self, df: pd.DataFrame):
        self.c_ = float((df["velocity_m_per_s"] - df[self.column]).mean())
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return df[self.column].to_numpy(float) + self.c_


def _lomo_frame(table: pd.DataFrame, target: str) -> pd.DataFrame:
    """lomo's machinery names its target `velocity_m_per_s` and its scale `target_scale_m_per_s`
    (models fit target / scale): here the target is log10 of a forecast quantity, scale 1."""
    return table.assign(velocity_m_per_s=np.log10(table[target].to_numpy(float)), target_scale_m_per_s=1.0)


def _on_jmak(make, target: str):
    """The model factory `make` with every learned model on the residual of the calibrated JMAK
    estimate of `target` (lomo.OnPhysics), as the growth task's learned models are on the collision law."""
    def factory(model, params, features, seed, graphs=None):
        m = make(model, params, features, seed, graphs)
        return lomo.OnPhysics(m, Calibrated(PHYSICS[target])) if model in lomo.LEARNED else m
    return factory


def evaluate(table: pd.DataFrame, models=("mean", "jmak", "ridge", "gbt"), *, seeds=(0,), budget=lomo.Budget(),
             targets=None, features=FEATURES, graphs: dict | None = None, interfaces: dict | None = None,
             progress=None) -> pd.DataFrame:
    """Leave-one-material-out predictions of log10 of every target: per target, seed, held-out
    material and model (tuned like the growth task: lomo.tune inside the training materials; the
    MS-GNN "msgnn" with the GNN search space and budget.gnn_epochs, like the growth task's).
    `graphs`: the early facet graphs filled in by forecast_table, needed by the MS-GNN models;
    `interfaces`: (material, orientation) -> the interface graphs, needed by "msgnn" and "msgnn_noattention".
    Columns: KEY, target, log10_measured, log10_predicted, model, seed, held_out, params."""
    out, make = [], lomo.make_model
    from msgnn.learn.forecast_gnn import GNN_MODELS, early_samples, model_factory
    if set(models) & set(GNN_MODELS):
        if graphs is None or (interfaces is None and set(models) - {"msgnn_facets"} & set(GNN_MODELS)):
            raise ValueError("the MS-GNN models need the early facet graphs (forecast_table's `graphs`) and, "
                             "with atoms, the interface graphs (growth_gnn.interface_graphs)")
        graphs, make = {"facets": early_samples(graphs), "interfaces": interfaces}, model_factory
    with threadpool_limits(1):
        for target in targets or [t.name for t in TARGETS]:
            df = _lomo_frame(table[np.isfinite(table[target]) & (table[target] > 0)], target)
            for seed in seeds:
                for held in sorted(df["material"].unique()):
                    train, test = df[df["material"] != held], df[df["material"] == held]
                    for model in models:
                        if model == "jmak":
                            params, m = {}, Calibrated(PHYSICS[target]).fit(train)
                        else:
                            on_jmak = _on_jmak(make, target)
                            params, _ = lomo.tune(model, train, list(features), budget, seed, graphs, make=on_jmak)
                            m = on_jmak(model, params, list(features), seed, graphs).fit(train)
                        out.append(test[KEY].assign(target=target, log10_measured=test["velocity_m_per_s"],
                                                    log10_predicted=m.predict(test), model=model, seed=seed,
                                                    held_out=held, params=str(params)))
                    if progress:
                        progress(f"{target} seed {seed} held out {held}")
    return pd.concat(out, ignore_index=True)


def summarise(pred: pd.DataFrame) -> dict:
    """Per target and model: RMSE in log10 units (mean over seeds) with the 95 % interval from
    resampling held-out materials (lomo.bootstrap_rmse), and the best model."""
    out = {}
    for target, p in pred.groupby("target"):
        p = p.rename(columns={"log10_measured": "velocity_m_per_s", "log10_predicted": "predicted_m_per_s"})
        res = {}
        for model in p["model"].unique():
            point, ci = lomo.bootstrap_rmse(p, model)
            res[model] = {"rmse_log10": point, "ci95": ci}
        out[target] = {"models": res, "best": min(res, key=lambda m: res[m]["rmse_log10"]),
                       "n_rows": int(len(p) // (p["model"].nunique() * p["seed"].nunique())),
                       "n_materials": int(p["material"].nunique())}
    return out


def run_forecast_task(library_dir, task, noise: float, blur_px: float, generator: LogGenerator,
                      nucleation: ClassicalNucleation, seed: int, table_csv, predictions_csv, metrics_json,
                      graph_settings=None) -> dict:
    """Rule forecast_task: the synthetic table of the library (`task`: ForecastTaskSettings; the
    micrographs' noise and blur: config microscopy), the leave-one-material-out predictions of every
    model in `task.models` over `task.seeds` seeds, and the metrics (summarise)."""
    from msgnn.io import write_json

    settings = ForecastSettings(image_px=task.image_px, grains_per_image=task.grains_per_image, noise=noise,
                                blur_px=blur_px, early_fraction=tuple(task.early_fraction),
                                reactor_fit=task.reactor_fit)
    graphs = {}
    table = forecast_table(library_dir, settings, generator, nucleation, seed, graphs=graphs)
    interfaces = None
    if {"msgnn", "msgnn_noattention"} & set(task.models):
        from msgnn.learn.growth_gnn import interface_graphs
        interfaces = interface_graphs(library_dir, sorted(set(zip(table["material"], table["orientation"]))),
                                      graph_settings, seed=seed)
    pred = evaluate(table, list(task.models), seeds=[seed + i for i in range(task.seeds)],
                    budget=lomo.Budget(trials=task.trials, inner_folds=task.inner_folds, gnn_epochs=task.gnn_epochs),
                    graphs=graphs, interfaces=interfaces, progress=log.info)
    metrics = {"synthetic": True, "split": "lomo", "unit": "log10", "targets": summarise(pred),
               "n_conditions": len(table), "skipped": [list(s) for s in table.attrs["skipped"]],
               "seconds_per_condition": table.attrs["seconds_per_condition"], "settings": vars(settings) | {
                   "early_fraction": list(settings.early_fraction)},
               "budget": {"trials_per_model_target_and_fold": task.trials, "inner_folds": task.inner_folds,
                          "gnn_epochs": task.gnn_epochs,
                          "sampler": "Optuna GPSampler" if task.trials else "none: every model at its defaults"}}
    table.to_csv(table_csv, index=False)
    pred.to_csv(predictions_csv, index=False)
    write_json(metrics_json, metrics)
    return metrics
