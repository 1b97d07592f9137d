"""Benchmark (not a test): time and accuracy of the reactor stage per log, by stage and noise.

    python benchmarks/reactor_pipeline.py [--repeats 5]

Generates default-scale logs (12 h, 2 min sampling, 30 bins, all faults on) for a fake MD run,
and times generation, CSV write, read+validate, cleaning, fit and plot; prints the relative
errors of G and B0 and compares the pooled fit with a naive per-timestamp average of G.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from msgnn.reactor.clean import clean_table, per_timestamp_fits
from msgnn.reactor.fit import fit_msmpr, plot_fit
from msgnn.kinetics import ClassicalNucleation
from msgnn.reactor.generate import generate_log, msmpr_truth
from msgnn.reactor.pipeline import write_raw_csv
from msgnn.reactor.schema import read_table
from msgnn.reactor.settings import LogGenerator

RUN = {"velocity_m_per_s": 12.0, "latent_heat_eV_per_atom": 0.11, "atomic_volume_m3": 1.66e-29}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    gen = LogGenerator.defaults()              # 12 h at 120 s, all faults on
    truth = msmpr_truth(RUN, temperature_K=870, melting_point_K=926, generator=gen,
                        nucleation=ClassicalNucleation.defaults())
    G, B0 = truth["growth_rate_m_per_s"], truth["nucleation_rate_per_m3_s"]
    read_table  # warm imports (pint registry) outside the timings
    times = {k: [] for k in ("generate", "write", "read", "clean", "fit", "plot")}
    with tempfile.TemporaryDirectory() as d:
        for noise in (0.01, 0.03, 0.1, 0.2):
            eg, eb, naive = [], [], []
            for r in range(args.repeats):
                t0 = time.perf_counter()
                tab, _ = generate_log(truth, gen.replace(noise=noise), seed=100 + r)
                t1 = time.perf_counter()
                p = Path(d) / "raw.csv"
                write_raw_csv(tab, p)
                t2 = time.perf_counter()
                table, meta = read_table(p)
                t3 = time.perf_counter()
                clean, report, summary = clean_table(table, meta, path=p)
                t4 = time.perf_counter()
                fit = fit_msmpr(clean, path=p)
                t5 = time.perf_counter()
                if noise == 0.03 and r == 0:
                    plot_fit(clean, fit, summary, Path(d) / "fit.png", title="bench", truth=truth)
                    times["plot"].append(time.perf_counter() - t5)
                for k, v in zip(("generate", "write", "read", "clean", "fit"),
                                (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                    times[k].append(v)
                eg.append(abs(fit["growth_rate_m_per_s"] / G - 1))
                eb.append(abs(fit["nucleation_rate_per_m3_s"] / B0 - 1))
                used = clean[clean["used_in_fit"]]
                _, _, b = per_timestamp_fits(used["timestamp_s"].to_numpy(),
                                             used["size_m"].to_numpy(),
                                             np.log(used["population_density_per_m4"].to_numpy()))
                naive.append(abs(np.mean(-1 / (b * fit["residence_time_s"])) / G - 1))
            print(f"noise {noise:5.2f}: |G err| {np.mean(eg):.4f} (naive per-timestamp mean "
                  f"{np.mean(naive):.4f}), |B0 err| {np.mean(eb):.4f}  [{args.repeats} logs]")
    print("median seconds per log: " + ", ".join(
        f"{k} {statistics.median(v):.3f}" for k, v in times.items() if v))


if __name__ == "__main__":
    main()
