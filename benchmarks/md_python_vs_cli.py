"""Benchmark (not a test): one slab condition driven from Python (msgnn.md.slab, with per-sample
classification and extraction) vs. replaying its recorded input script with the `lmp` CLI of the
same wheel (no Python in the loop). Prints both wall times and the overhead of the Python driver.

    python benchmarks/md_python_vs_cli.py [--material Al] [--temperature 870] [--config config.yaml]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from msgnn.config import condition_seed, load
from msgnn.md.lammps_env import preload_mpi
from msgnn.md.slab import run_condition


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", default="config.yaml")
    ap.add_argument("--material", default="Al")
    ap.add_argument("--temperature", type=int, default=870)
    args = ap.parse_args(argv)
    cfg = load(args.config)
    mat = cfg["materials"][args.material]
    seed = condition_seed(cfg, "md", args.material, args.temperature)
    t0 = time.perf_counter()
    record, _ = run_condition(args.material, mat, cfg["md"], args.temperature, seed)
    t_py = time.perf_counter() - t0
    lmp = shutil.which("lmp")
    if lmp is None:
        print("python driver: %.1f s; no `lmp` executable found for the comparison" % t_py)
        return
    env = dict(os.environ)
    libmpi = preload_mpi()
    if libmpi:   # the CLI needs the same library the Python side preloads
        env["LD_LIBRARY_PATH"] = os.path.dirname(libmpi) + os.pathsep + env.get("LD_LIBRARY_PATH", "")
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "in.slab")
        with open(script, "w") as f:
            f.write(record["input_script"])
        suffix = [a for a in record["input_script"].splitlines()[0].split() if a in ("opt", "omp")]
        cmd = [lmp, "-in", script, "-log", "none", "-screen", "none", "-nocite"] + (["-sf", suffix[0]] if suffix else [])
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=d, env=env, capture_output=True, text=True)
        t_cli = time.perf_counter() - t0
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"lmp CLI failed with exit code {proc.returncode}")
    print(f"{args.material} T={args.temperature} K, {record['n_atoms']} atoms")
    print(f"python driver (msgnn.md.slab, incl. NPT a(T) runs and sampling): {t_py:.1f} s")
    print(f"lmp CLI replay of the slab input script:                        {t_cli:.1f} s")
    print(f"python-driver overhead: {100 * (t_py / t_cli - 1):.0f} %")


if __name__ == "__main__":
    main()
