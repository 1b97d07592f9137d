"""Benchmark (not a test): one slab condition driven from Python (msgnn.md.slab, with per-sample
classification and extraction) vs. replaying its recorded input scripts (the NPT a(T) script and
the slab script) with the `lmp` CLI of the same wheel (no Python in the loop). Prints wall time
and throughput (katom-steps/s) of both side by side and their ratio (runner / CLI throughput;
>= 0.95 is the target), and where the runner's time goes.

What differs between the two, measured on the default config (Al, 870 K, 1536 atoms):
- the chunked `run N pre no post no` calls cost nothing measurable: with `pre no` LAMMPS does no
  re-setup and no extra force call between chunks, so the runner's time inside `run` commands
  equals the CLI's slab-script time;
- the NPT a(T) runs happen before the slab (an earlier version of this benchmark timed them on
  the Python side only, which made the runner look ~13-19 % slower);
- the runner evaluates the classification computes (q6 -> bonds, ke) at every sample, ~5 % of
  the run; a plain replay never invokes them (nothing references them). `--classify-in-cli`
  adds a `fix ave/atom` on the same computes at the same interval, i.e. the same work.
- pure Python overhead (extraction, interface fit per sample, imports) is ~1 %.

    python benchmarks/md_python_vs_cli.py [--material Al] [--temperature 870] [--config config.yaml]
                                          [--classify-in-cli] [--repeats 3]

With --repeats N the runner and the CLI alternate N times (runner, CLI, runner, CLI, ...) and the
medians are compared, so that the load of a shared machine falls on both alike.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from msgnn.workflow.config import condition_seed, load
from msgnn.md import lammps_env
from msgnn.md.lammps_env import preload_mpi
from msgnn.md.settings import Material, SlabSettings
from msgnn.md.slab import run_condition


def atom_steps(script: str, n_atoms: int) -> int:
    return n_atoms * sum(int(m.group(1)) for m in re.finditer(r"^run (\d+)", script, re.M))


def replay(lmp: str, script: str, env: dict) -> float:
    suffix = [a for a in script.splitlines()[0].split() if a in ("opt", "omp")]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "in.lmp")
        with open(path, "w") as f:
            f.write(script)
        cmd = [lmp, "-in", path, "-log", "none", "-screen", "none", "-nocite"] + (["-sf", suffix[0]] if suffix else [])
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=d, env=env, capture_output=True, text=True)
        t = time.perf_counter() - t0
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"lmp CLI failed with exit code {proc.returncode}")
    return t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="config.yaml")
    ap.add_argument("--material", default="Al")
    ap.add_argument("--temperature", type=int, default=870)
    ap.add_argument("--classify-in-cli", action="store_true",
                    help="make the CLI replay evaluate the classification computes every sample too")
    ap.add_argument("--repeats", type=int, default=1, help="alternate runner and CLI this many times; medians")
    args = ap.parse_args(argv)
    cfg = load(args.config)
    mat = Material.from_section(cfg["materials"][args.material])
    md = SlabSettings.from_section(cfg["md"])
    seed = condition_seed(cfg, "md", args.material, args.temperature)
    in_run = [0.0]
    call = lammps_env.Lammps.__call__

    def timed_call(self, line):   # time spent inside LAMMPS `run` commands
        t = time.perf_counter()
        try:
            return call(self, line)
        finally:
            if line.startswith("run"):
                in_run[0] += time.perf_counter() - t

    def runner() -> tuple[float, dict]:
        in_run[0] = 0.0
        lammps_env.Lammps.__call__ = timed_call
        t0 = time.perf_counter()
        record, _ = run_condition(args.material, mat, md, args.temperature, seed)
        lammps_env.Lammps.__call__ = call
        return time.perf_counter() - t0, record

    t_py, record = runner()
    n_cells = {"diamond": 3, "fcc": 4, "bcc": 5}[mat.lattice]
    n_dens = {"diamond": 8, "fcc": 4, "bcc": 2}[mat.lattice] * n_cells ** 3
    slab, dens = record["input_script"], record["density_input_script"] or ""
    work = atom_steps(slab, record["n_atoms"]) + atom_steps(dens, n_dens)
    lmp = shutil.which("lmp")
    print(f"{args.material} T={args.temperature} K: slab {record['n_atoms']} atoms, NPT box {n_dens} atoms, "
          f"{work / 1e6:.2f} M atom-steps in all")
    if lmp is None:
        print(f"python runner: {t_py:.2f} s ({work / t_py / 1e3:.0f} katom-steps/s); no `lmp` executable to compare")
        return
    env = dict(os.environ)
    libmpi = preload_mpi()
    if libmpi:   # the CLI needs the same library the Python side preloads
        env["LD_LIBRARY_PATH"] = os.path.dirname(libmpi) + os.pathsep + env.get("LD_LIBRARY_PATH", "")
    if args.classify_in_cli:
        every = int(record["md_settings"]["sample_every"])
        cmp = ["bonds", "ke"]   # what the runner evaluates at every sample
        extra = f"fix clsf all ave/atom 1 1 {every} " + " ".join(f"c_{c}" for c in cmp)
        slab = slab.replace("\nrun 0\n", f"\nrun 0\n{extra}\n", 1)
    t_pys, t_clis = [t_py], []
    for i in range(max(args.repeats, 1)):
        if i:
            t_pys.append(runner()[0])
        t_cli_dens = replay(lmp, dens, env) if dens else 0.0
        t_cli_slab = replay(lmp, slab, env)
        t_clis.append(t_cli_dens + t_cli_slab)
    if len(t_pys) > 1:
        print(f"runner wall times (s): {', '.join(f'{t:.2f}' for t in t_pys)}; "
              f"CLI: {', '.join(f'{t:.2f}' for t in t_clis)} (medians compared)")
    t_py, t_cli = statistics.median(t_pys), statistics.median(t_clis)
    r_py, r_cli = work / t_py / 1e3, work / t_cli / 1e3
    print(f"{'':34s}{'wall (s)':>10s}{'katom-steps/s':>16s}")
    print(f"{'python runner (msgnn.md.slab)':34s}{t_py:10.2f}{r_py:16.0f}")
    print(f"{'lmp CLI replay (same scripts)':34s}{t_cli:10.2f}{r_cli:16.0f}"
          f"   (NPT a(T) script {t_cli_dens:.2f} s + slab script {t_cli_slab:.2f} s)")
    print(f"throughput ratio runner/CLI: {r_py / r_cli:.3f}  (target >= 0.95)")
    print(f"runner breakdown: {in_run[0]:.2f} s in LAMMPS `run` commands, {t_py - in_run[0]:.2f} s elsewhere "
          f"(setup commands, per-sample compute evaluation + extraction, fits, imports)")


if __name__ == "__main__":
    main()
