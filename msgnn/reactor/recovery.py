"""How well the cleaning + MSMPR fit recovers the generator's G and B0 from faulty logs.

For every growth condition (its MD run record) and every noise level, a log is generated with
all faults on, written to CSV and read back through the same code path as a real file, cleaned
and fitted. The relative error |estimate/truth - 1| is averaged over conditions per noise level;
the coverage of the 95 % intervals is reported alongside.
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

from msgnn.errors import InputFileError
from msgnn.io import write_json
from msgnn.kinetics import ClassicalNucleation
from msgnn.reactor.generate import read_run
from msgnn.reactor.pipeline import analyse, synthetic_log, write_raw_csv
from msgnn.reactor.settings import LogGenerator, RecoveryStudy

log = logging.getLogger(__name__)


def recovery_study(runs: list[dict], *, generator: LogGenerator, nucleation: ClassicalNucleation,
                   noise_levels, seeds: list[int]) -> dict:
    """runs: dicts with material, temperature_K, melting_point_K and run (the run.json record).
    Every log has the generator's faults on; the noise goes over `noise_levels` and the
    generator's own (default) noise."""
    default_noise = generator.noise
    levels = sorted({float(x) for x in noise_levels} | {float(default_noise)})
    by_noise = []
    with tempfile.TemporaryDirectory(prefix="msgnn_recovery_") as tmp:
        for noise in levels:
            errs_g, errs_b, cov_g, cov_b, failures = [], [], [], [], []
            for r, seed in zip(runs, seeds):
                table, info = synthetic_log(r["run"], temperature_K=r["temperature_K"],
                                            melting_point_K=r["melting_point_K"],
                                            generator=generator.replace(noise=noise),
                                            nucleation=nucleation, seed=seed)
                path = Path(tmp) / f"{r['material']}_T{r['temperature_K']}_{noise:g}.csv"
                write_raw_csv(table, path)
                truth = info["truth"]
                try:
                    _, _, _, fit, _ = analyse(path)
                except InputFileError as exc:
                    failures.append(f"{r['material']} {r['temperature_K']} K: {exc.problem}")
                    continue
                g, b = truth["growth_rate_m_per_s"], truth["nucleation_rate_per_m3_s"]
                errs_g.append(abs(fit["growth_rate_m_per_s"] / g - 1))
                errs_b.append(abs(fit["nucleation_rate_per_m3_s"] / b - 1))
                lo, hi = fit["growth_rate_ci95"]
                cov_g.append(lo <= g <= hi)
                lo, hi = fit["nucleation_rate_ci95"]
                cov_b.append(lo <= b <= hi)
            n = len(errs_g)
            entry = {
                "noise": noise,
                "growth_rate_error": float(np.mean(errs_g)) if n else None,
                "nucleation_rate_error": float(np.mean(errs_b)) if n else None,
                "growth_rate_error_max": float(np.max(errs_g)) if n else None,
                "nucleation_rate_error_max": float(np.max(errs_b)) if n else None,
                "growth_rate_ci95_coverage": float(np.mean(cov_g)) if n else None,
                "nucleation_rate_ci95_coverage": float(np.mean(cov_b)) if n else None,
                "n_logs": n, "n_failed": len(failures), "failures": failures,
            }
            log.info("noise %.3g: G error %s, B0 error %s over %d logs (%d failed)", noise,
                     entry["growth_rate_error"], entry["nucleation_rate_error"], n, len(failures))
            by_noise.append(entry)
    default = next(e for e in by_noise if e["noise"] == float(default_noise))
    return {
        "synthetic": True,
        "description": "relative error |estimate/truth - 1| of G and B0 recovered from generated "
                       "MSMPR logs with all faults on (spikes, dropouts, gap, degC stretch, drift, "
                       "duplicates, out-of-order), mean over conditions",
        "faults": generator.faults.to_dict(),
        "conditions": [f"{r['material']}/{r['temperature_K']}" for r in runs],
        "default_noise": default,
        "by_noise": by_noise,
        "target_error_at_default_noise": 0.05,
    }


def run_recovery(run_jsons, out_json, *, conditions, melting_points_K: dict, generator: LogGenerator,
                 nucleation: ClassicalNucleation, study: RecoveryStudy, seeds: list[int]) -> dict:
    """Recovery study over the run.json files of `conditions` ((material, temperature_K) pairs,
    same order); at most `study.recovery_max_conditions` of them, spread evenly. Writes
    recovery.json."""
    pairs = list(zip(run_jsons, conditions, seeds))
    max_conditions = study.recovery_max_conditions
    if len(pairs) > max_conditions:
        keep = np.unique(np.linspace(0, len(pairs) - 1, max_conditions).round().astype(int))
        pairs = [pairs[i] for i in keep]
    runs = []
    for p, (mat, temp), _ in pairs:
        if mat not in melting_points_K:
            raise InputFileError(p, f"material {mat!r} is not in config materials")
        runs.append({"material": mat, "temperature_K": int(temp), "melting_point_K": melting_points_K[mat],
                     "run": read_run(p)})
    result = recovery_study(runs, generator=generator, nucleation=nucleation,
                            noise_levels=study.recovery_noise_levels, seeds=[s for _, _, s in pairs])
    write_json(out_json, result)
    return result
