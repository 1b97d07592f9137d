"""One call per workflow rule: generate (or copy) a raw log, and analyse a raw log."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from msgnn.errors import InputFileError
from msgnn.io import atomic_path, read_json, sha256, write_json
from msgnn.kinetics import ClassicalNucleation
from msgnn.reactor.clean import CleanOptions, clean_table, plot_cleaning
from msgnn.reactor.fit import fit_msmpr, plot_fit, temperature_drift
from msgnn.reactor.generate import generate_log, msmpr_truth, read_run
from msgnn.reactor.schema import is_parquet, read_parquet_raw, read_table
from msgnn.reactor.settings import LogGenerator

log = logging.getLogger(__name__)


def synthetic_log(run: dict, *, temperature_K: float, melting_point_K: float, generator: LogGenerator,
                  nucleation: ClassicalNucleation, seed: int):
    """(raw table, generator info) for one condition from its MD run record and the settings."""
    truth = msmpr_truth(run, temperature_K=temperature_K, melting_point_K=melting_point_K,
                        generator=generator, nucleation=nucleation)
    return generate_log(truth, generator, seed=seed)


def write_raw_csv(table: pd.DataFrame, path) -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.7g")


def generate_condition(run_json, out_csv, out_info, *, material: str, temperature_K: int,
                       melting_point_K: float, generator: LogGenerator, nucleation: ClassicalNucleation,
                       seed: int) -> dict:
    """Write a synthetic raw log (labelled synthetic) and the generator's truth for one condition."""
    run = read_run(run_json)
    table, info = synthetic_log(run, temperature_K=temperature_K, melting_point_K=melting_point_K,
                                generator=generator, nucleation=nucleation, seed=seed)
    info.update({"material": material, "temperature_K": int(temperature_K),
                 "run_json": str(run_json)})
    write_raw_csv(table, out_csv)
    write_json(out_info, info)
    log.info("%s T=%s K: synthetic log, %d rows, G=%.3g m/s, B0=%.3g /m3/s", material,
             temperature_K, len(table), info["truth"]["growth_rate_m_per_s"],
             info["truth"]["nucleation_rate_per_m3_s"])
    return info


def copy_real_log(src, out_csv, out_info, *, material: str, temperature_K: int) -> None:
    """Check a real log with the reader (InputFileError naming `src`), then copy a CSV log byte for
    byte, or write a Parquet log's table as CSV (every value at full round-trip precision; a null
    becomes an empty cell, the one missing-value spelling of both formats); the source is never
    modified and its sha256 is recorded with where it came from."""
    src = Path(src)
    if not src.is_file():
        raise InputFileError(src, "real reactor log named in config reactor.real_logs not found")
    read_table(src)     # the reader's checks here, where the user's file enters: errors name it, not the copy
    with atomic_path(out_csv) as tmp:
        if is_parquet(src):
            read_parquet_raw(src).to_csv(tmp, index=False)
        else:
            shutil.copyfile(src, tmp)
    write_json(out_info, {"synthetic": False, "material": material,
                          "temperature_K": int(temperature_K), "source": str(src),
                          "source_format": "parquet" if is_parquet(src) else "csv",
                          "source_sha256": sha256(src)})


def _analyse(path, options: CleanOptions | None = None):
    """Read, validate, clean and fit one log: (raw table, clean, report, summary, fit, meta)."""
    table, meta = read_table(path)
    clean, report, summary = clean_table(table, meta, path=path, options=options)
    fit = fit_msmpr(clean, path=path)
    return table, clean, report, summary, fit, meta


def analyse(path, *, options: CleanOptions | None = None):
    """Read, validate, clean and fit one log: (clean, report, summary, fit, meta)."""
    return _analyse(path, options)[1:]


def analyse_condition(raw_csv, *, info_json, out_clean, out_report, out_kinetics, out_plot,
                      material: str, temperature_K: int | None, out_cleaning_plot=None) -> dict:
    """Clean and fit one condition's raw log; write clean.csv, cleaning_report.csv,
    kinetics.json (CONTRACTS.md keys and more), the fit plot and the raw-vs-cleaned plot
    (``out_cleaning_plot``, by default cleaning.png next to the report). `temperature_K` None
    (a log analysed on its own, `msgnn reactor-fit`): the median logged temperature, rounded."""
    info = read_json(info_json) if info_json else {}
    table, clean, report, summary, fit, meta = _analyse(raw_csv)
    if temperature_K is None:
        temperature_K = int(round(float(np.nanmedian(clean["temperature_K"]))))
    synthetic = bool(meta["synthetic"] or info.get("synthetic", False))
    clean = clean.assign(synthetic=synthetic)
    report = report.assign(synthetic=synthetic)
    with atomic_path(out_clean) as tmp:
        clean.to_csv(tmp, index=False, float_format="%.9g")
    with atomic_path(out_report) as tmp:
        report.to_csv(tmp, index=False, float_format="%.9g")
    truth = info.get("truth") if synthetic else None
    kin = {
        "material": material, "temperature_K": int(temperature_K), "synthetic": synthetic,
        "source": info.get("source", "synthetic MSMPR generator" if synthetic else str(raw_csv)),
        **{k: fit[k] for k in ("growth_rate_m_per_s", "growth_rate_ci95",
                               "nucleation_rate_per_m3_s", "nucleation_rate_ci95",
                               "residence_time_s", "dominant_size_m")},
        "n_rows_raw": summary["n_rows_raw"], "n_rows_clean": summary["n_rows_clean"],
        "fit": {k: v for k, v in fit.items() if k not in ("growth_rate_ci95",
                                                          "nucleation_rate_ci95")},
        "steady_state": {k: summary[k] for k in ("steady_state_start_s", "steady_state_end_s",
                                                  "n_timestamps_steady", "trend_ln_n0",
                                                  "trend_slope_relative")},
        "gaps_s": summary["gaps_s"],
        "cleaning_counts": summary["cleaning_counts"],
        "unit_conversions": meta["conversions"],
        "ignored_columns": meta["ignored_columns"],
        **temperature_drift(clean),
        "raw_sha256": sha256(raw_csv),
    }
    if truth:
        kin["generator"] = {
            "growth_rate_m_per_s": truth["growth_rate_m_per_s"],
            "nucleation_rate_per_m3_s": truth["nucleation_rate_per_m3_s"],
            "growth_rate_relative_error": fit["growth_rate_m_per_s"] / truth["growth_rate_m_per_s"] - 1,
            "nucleation_rate_relative_error":
                fit["nucleation_rate_per_m3_s"] / truth["nucleation_rate_per_m3_s"] - 1,
            "noise": info.get("noise"), "fault_counts": info.get("fault_counts")}
    write_json(out_kinetics, kin)
    plot_fit(clean, fit, summary, out_plot, title=f"{material} at {temperature_K} K",
             truth=truth, synthetic=synthetic)
    plot_cleaning(table, clean, report, out_cleaning_plot or Path(out_report).with_name(
        "cleaning.png"), title=f"{material} at {temperature_K} K", synthetic=synthetic)
    log.info("%s T=%s K: G=%.4g m/s %s, B0=%.4g /m3/s %s, %d of %d rows used", material,
             temperature_K, fit["growth_rate_m_per_s"], np.round(fit["growth_rate_ci95"], 15),
             fit["nucleation_rate_per_m3_s"], fit["nucleation_rate_ci95"], fit["n_points_fit"],
             summary["n_rows_raw"])
    return kin


def fit_file(path, out_dir, *, material: str | None = None, temperature_K: int | None = None) -> dict:
    """One reactor log (CSV or Parquet, docs/reactor_schema.md) through the workflow's own
    analysis (rule reactor_kinetics: analyse_condition) -> out_dir/clean.csv,
    cleaning_report.csv, kinetics.json, fit.png, cleaning.png. `material` defaults to the
    file's stem. Returns kinetics.json's record with `files` (the paths written) and
    `cleaning_actions` (the cleaning report's rows counted by action)."""
    out = Path(out_dir)
    files = {"clean": out / "clean.csv", "cleaning_report": out / "cleaning_report.csv",
             "kinetics": out / "kinetics.json", "fit_plot": out / "fit.png", "cleaning_plot": out / "cleaning.png"}
    kin = analyse_condition(path, info_json=None, out_clean=files["clean"], out_report=files["cleaning_report"],
                            out_kinetics=files["kinetics"], out_plot=files["fit_plot"],
                            out_cleaning_plot=files["cleaning_plot"], material=material or Path(path).stem,
                            temperature_K=temperature_K)
    return {**kin, "files": {k: str(v) for k, v in files.items()}}
