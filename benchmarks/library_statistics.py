"""The numbers that could move when hand-written statistics were replaced by library functions
(docs/statistics.md): run once on the old code and once on the new, same inputs, and compare.

    python benchmarks/library_statistics.py before   # -> benchmarks/results/library_statistics_before.json
    python benchmarks/library_statistics.py after
    python benchmarks/library_statistics.py compare

Inputs: the reactor example log (docs/reactor_example.csv); the nucleation test's synthetic
trajectories and rates; the melting-point series of the 16 library runs (data/library_runs/*.tar.xz,
melting_point.json, 3 NPH replicas each); a synthetic leave-one-material-out prediction table; a
synthetic micrograph and growth series (tests/test_microscopy.py's inputs).
"""
from __future__ import annotations

import json
import math
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import erf

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"


def reactor() -> dict:
    from msgnn.reactor.pipeline import analyse
    clean, report, summary, fit, meta = analyse(ROOT / "docs" / "reactor_example.csv")
    keys = ["growth_rate_m_per_s", "growth_rate_ci95", "nucleation_rate_per_m3_s", "nucleation_rate_ci95",
            "residence_time_s", "residence_time_stderr_s", "n_points_fit", "n_timestamps_fit"]
    return {**{k: fit[k] for k in keys}, "report_lines": int(len(report)),
            "steady_state_start_s": summary["steady_state_start_s"]}


def nucleation() -> dict:
    from msgnn.md import nucleation as nuc
    rng = np.random.default_rng(1)
    J, V, t_max = 2.0e36, 3.0e-26, 10e-12
    t = rng.exponential(1 / (J * V), 40)
    rates = {"40_replicas": nuc.poisson_rate(np.minimum(t, t_max), t > t_max, V),
             "3_of_4": nuc.poisson_rate([2e-12, 3e-12, 1e-12, 4e-12], [False, False, False, True], 1e-26),
             "0_of_2": nuc.poisson_rate([5e-12, 5e-12], [True, True], 1e-26)}
    st, ss = nuc.survival_curve(np.minimum(t, t_max), t > t_max)
    # the test's erf trajectories (tests/test_md_nucleation.py::_erf_trajectories), 40 replicas
    rng = np.random.default_rng(3)
    sizes = np.arange(1, 81)
    g = 0.5 * (1 + erf(0.04 * math.sqrt(math.pi) * (sizes - 30.0)))
    grid = np.linspace(0, 120, 24001)
    traj = [(grid, np.searchsorted(ti * g, grid, side="right")) for ti in rng.exponential(10.0, 40)]
    fit = nuc.fit_mfpt(traj, 80, n_boot=200, seed=1, min_replicas=4)
    return {"rates": {k: {"J": r["J_per_m3_s"], "ci95": r["J_ci95"], "upper95": r["J_upper95"]} for k, r in rates.items()},
            "survival_time": st.tolist(), "survival": ss.tolist(),
            "mfpt": {k: fit[k] for k in ("critical_size", "critical_size_ci95", "bootstrap_fits")}}


def melting() -> dict:
    from msgnn.md.melting import combine_replicas, plateau_estimate
    out = {}
    for archive in sorted((ROOT / "data" / "library_runs").glob("*.tar.xz")):
        with tarfile.open(archive) as tf:
            member = next((m for m in tf.getmembers() if m.name.endswith("melting_point.json")), None)
            if member is None:
                continue
            m = json.load(tf.extractfile(member))
        s = m["melting_settings"]
        est = [plateau_estimate(r["temperature_K"], s["discard_fraction"], s["blocks"]) for r in m["series"]]
        good = [e for e, ok in zip(est, m["replica_coexisting"]) if ok]
        tm, unc = combine_replicas([e["mean_K"] for e in good], [e["stderr_K"] for e in good])
        out[archive.name.split(".")[0]] = {
            "melting_point_K": tm, "uncertainty_K": unc,
            "replicas": [{k: e[k] for k in ("mean_K", "stderr_K", "first_sample", "statistical_inefficiency",
                                            "equilibrated_from_sample") if k in e} for e in est]}
    return out


def lomo() -> dict:
    from msgnn.learn.lomo import bootstrap_rmse, paired_comparison, per_material_rmse
    rng = np.random.default_rng(0)
    rows = []
    for mat in range(12):
        v = rng.uniform(0.5, 2.0, 20)
        for model, err in (("a", 0.10), ("b", 0.15)):
            for seed in (0, 1):
                scale = err * rng.uniform(0.5, 1.5)
                rows += [{"model": model, "seed": seed, "material": f"M{mat}", "family": "fcc",
                          "velocity_m_per_s": x, "predicted_m_per_s": x + scale * rng.standard_normal()} for x in v]
    pred = pd.DataFrame(rows)
    point, ci = bootstrap_rmse(pred, "a")
    pc = paired_comparison(per_material_rmse(pred), "a", "b")
    return {"rmse_a": point, "rmse_a_ci95": ci, "ratio_a_b": pc["rmse_ratio"], "ratio_ci95": pc["ci95"]}


def microscopy() -> dict:
    from msgnn.microscopy.growth import crystal_masks
    from msgnn.microscopy.pipeline import natural_microstructure
    from msgnn.microscopy.segment import noise_sigma, segment_grains
    from msgnn.microscopy.simulate import render_micrograph, render_series, series_times
    m = natural_microstructure(160, 30, np.random.default_rng(4))
    times = np.concatenate([[0.0], series_times(5)])
    frames = render_series(m, times, np.random.default_rng([4, 1]), noise=0.08)
    masks, info = crystal_masks(frames[1:], frames[0])
    img = render_micrograph(m.labels, np.random.default_rng(9), noise=0.08)
    labels, _ = segment_grains(img)
    return {"crystal_mask_threshold": info["threshold"], "matrix_spread": info["matrix_spread"],
            "crystal_pixels": int(masks.sum()), "noise_sigma": noise_sigma(img), "grains": int(labels.max())}


def compare() -> None:
    a = json.loads((OUT / "library_statistics_before.json").read_text())
    b = json.loads((OUT / "library_statistics_after.json").read_text())

    def walk(x, y, path=""):
        if isinstance(x, dict):
            for k in x:
                walk(x[k], y.get(k) if isinstance(y, dict) else None, f"{path}.{k}" if path else k)
        elif isinstance(x, list) and x and not isinstance(x[0], (dict, list)) and len(x) <= 4:
            print(f"{path}: {x} -> {y}")
        elif isinstance(x, list):
            for i, (u, v) in enumerate(zip(x, y or [])):
                walk(u, v, f"{path}[{i}]")
        elif x != y:
            rel = f" ({(y - x) / x:+.2e})" if isinstance(x, float) and isinstance(y, float) and x else ""
            print(f"{path}: {x} -> {y}{rel}")
    walk(a, b)


if __name__ == "__main__":
    label = sys.argv[1] if len(sys.argv) > 1 else "after"
    if label == "compare":
        compare()
        sys.exit()
    parts = sys.argv[2:] or ["reactor", "nucleation", "melting", "lomo", "microscopy"]
    path = OUT / f"library_statistics_{label}.json"
    res = json.loads(path.read_text()) if path.is_file() else {}
    for p in parts:
        res[p] = globals()[p]()
        print(p, "done", flush=True)
    path.write_text(json.dumps(res, indent=1))
