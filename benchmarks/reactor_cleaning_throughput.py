"""Benchmark (not a test): cleaning throughput of the reactor stage on a LARGE generated log.

    taskset -c 0 python benchmarks/reactor_cleaning_throughput.py [--rows 1000000] [--repeats 3]

One synthetic MSMPR log with every fault on (spikes, dropouts, temperature spikes, a logger
outage, a °C stretch, drift, duplicated and out-of-order blocks) at default noise, 50 size bins,
sampled every few seconds so that it has at least ``--rows`` rows. It is written as CSV and as
Parquet, then each stage is timed (median of ``--repeats``, wall clock) and reported as rows of
the raw log per second:

    read+validate (CSV or Parquet: parse, pandera checks, pint unit conversion),
    clean (de-dup, sort, Hampel, gaps, steady state, report of every change),
    fit (MSMPR least squares with intervals), and the whole chain read+clean+fit.

It also prints the G and B0 errors against the generator's truth, so a fast but wrong
cleaner shows. Memory is not measured.
"""
from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

from msgnn.reactor.clean import clean_table
from msgnn.reactor.fit import fit_msmpr
from msgnn.kinetics import ClassicalNucleation
from msgnn.reactor.generate import generate_log, msmpr_truth
from msgnn.reactor.pipeline import write_raw_csv
from msgnn.reactor.schema import read_table
from msgnn.reactor.settings import LogGenerator

RUN = {"velocity_m_per_s": 12.0, "latent_heat_eV_per_atom": 0.11, "atomic_volume_m3": 1.66e-29}
SIZE_BINS = 50
DURATION_S = 48 * 3600.0  # 96 residence times of 30 min


def timed(fn, repeats):
    """(median seconds, last result) of fn() over `repeats` calls."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=float, default=1e6)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    # s, rounded down, with room for the rows the logger outage removes
    interval = math.floor(DURATION_S * SIZE_BINS / (1.05 * args.rows) * 100) / 100
    gen = LogGenerator.defaults(duration_s=DURATION_S, sample_interval_s=interval, size_bins=SIZE_BINS)
    truth = msmpr_truth(RUN, temperature_K=870, melting_point_K=926, generator=gen,
                        nucleation=ClassicalNucleation.defaults())
    read_table  # the pint registry is built on first use: warm it outside the timings
    from msgnn.reactor import units
    units.registry()

    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        tab, info = generate_log(truth, gen, seed=7)
        t_gen = time.perf_counter() - t0
        csv, pq = Path(d) / "large.csv", Path(d) / "large.parquet"
        t0 = time.perf_counter()
        write_raw_csv(tab, csv)
        t_write = time.perf_counter() - t0
        tab.to_parquet(pq, index=False)
        n = len(tab)
        print(f"log: {n:,} rows ({n / SIZE_BINS:,.0f} timestamps x {SIZE_BINS} bins, every "
              f"{interval:g} s for {DURATION_S / 3600:g} h), faults {info['fault_counts']}; "
              f"CSV {csv.stat().st_size / 1e6:.0f} MB, Parquet {pq.stat().st_size / 1e6:.0f} MB")
        print(f"generate {t_gen:.2f} s, write CSV {t_write:.2f} s")

        t_csv, (table, meta) = timed(lambda: read_table(csv), args.repeats)
        t_pq, _ = timed(lambda: read_table(pq), args.repeats)
        t_clean, (clean, report, summary) = timed(lambda: clean_table(table, meta, path=csv),
                                                  args.repeats)
        t_fit, fit = timed(lambda: fit_msmpr(clean, path=csv), args.repeats)
        t_all, _ = timed(lambda: fit_msmpr(clean_table(*read_table(csv), path=csv)[0], path=csv),
                         args.repeats)

    rows = [("read+validate CSV", t_csv), ("read+validate Parquet", t_pq), ("clean", t_clean),
            ("fit", t_fit), ("whole chain (CSV read+clean+fit)", t_all)]
    print(f"\nmedian of {args.repeats}, wall clock, rows of the raw log per second:")
    for name, t in rows:
        print(f"  {name:34s} {t:7.2f} s  {n / t:12,.0f} rows/s")
    G, B0 = truth["growth_rate_m_per_s"], truth["nucleation_rate_per_m3_s"]
    print(f"\ncleaning report: {len(report):,} lines, {summary['n_rows_clean']:,} clean rows, "
          f"{summary['n_rows_fit']:,} in the fit; G error "
          f"{fit['growth_rate_m_per_s'] / G - 1:+.4f}, B0 error "
          f"{fit['nucleation_rate_per_m3_s'] / B0 - 1:+.4f}")


if __name__ == "__main__":
    main()
