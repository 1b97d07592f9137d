"""Benchmark (not a test): LAMMPS's own bench/in.eam (fcc Cu, Cu_u3.eam, 32,000 atoms, 100 NVE
steps) run through msgnn's LAMMPS runner (msgnn.md.lammps_env.Lammps), plain and with the OPT and
OPENMP suffixes, compared with the reference log shipped with LAMMPS
(bench/log.15Jul25.eam.fixed.g++.1: loop time 2.349 s on 1 core = 1.36 M atom-steps/s).

Loop time is LAMMPS's `cpu` thermo keyword at the last step (the "Loop time of" of a log file);
wall time adds the setup of the run (neighbour lists, first forces).

    python benchmarks/lammps_bench_eam.py [--repeat 3] [--omp-threads 1]
"""
from __future__ import annotations

import argparse
import time

from msgnn.md.lammps_env import Lammps, resolve_potential

REF_LOOP_S = 2.349            # bench/log.15Jul25.eam.fixed.g++.1, 1 MPI task
N_ATOMS, N_STEPS = 32000, 100


def in_eam(potential: str) -> list[str]:
    """bench/in.eam with x = y = z = 1."""
    return ["units metal", "atom_style atomic",
            "lattice fcc 3.615", "region box block 0 20 0 20 0 20",
            "create_box 1 box", "create_atoms 1 box",
            "pair_style eam", f"pair_coeff 1 1 {potential}",
            "velocity all create 1600.0 376847 loop geom",
            "neighbor 1.0 bin", "neigh_modify every 1 delay 5 check yes",
            "fix 1 all nve", "timestep 0.005",
            "thermo_style custom step temp epair emol etotal press cpu", "thermo 50"]


def run_once(suffix: str | None, omp_threads: int) -> dict:
    potential = str(resolve_potential("Cu_u3.eam"))
    with Lammps(suffix, context=f"bench in.eam (suffix {suffix})") as lmp:
        if suffix == "omp":
            lmp(f"package omp {omp_threads}")
        for line in in_eam(potential):
            lmp(line)
        natoms = int(lmp.lmp.get_natoms())
        t0 = time.perf_counter()
        lmp(f"run {N_STEPS}")
        wall = time.perf_counter() - t0
        thermo = lmp.lmp.last_thermo()
        loop = float(thermo["CPU"]) if thermo and "CPU" in thermo else wall
        return {"natoms": natoms, "loop_s": loop, "wall_s": wall, "etotal": float(thermo["TotEng"]) if thermo else None}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs per variant; the best is reported")
    ap.add_argument("--omp-threads", type=int, default=1)
    args = ap.parse_args(argv)
    ref_rate = N_ATOMS * N_STEPS / REF_LOOP_S
    print(f"bench/in.eam: {N_ATOMS} atoms, {N_STEPS} steps; reference {REF_LOOP_S} s = {ref_rate / 1e6:.2f} M atom-steps/s")
    print(f"{'variant':22s}{'loop (s)':>10s}{'wall (s)':>10s}{'M atom-steps/s':>16s}{'vs ref':>8s}{'etotal (eV)':>14s}")
    for label, suffix in (("plain (eam)", None), ("OPT (eam/opt)", "opt"),
                          (f"OPENMP (eam/omp, {args.omp_threads}t)", "omp")):
        best = min((run_once(suffix, args.omp_threads) for _ in range(args.repeat)), key=lambda r: r["loop_s"])
        assert best["natoms"] == N_ATOMS, best
        rate = best["natoms"] * N_STEPS / best["loop_s"]
        print(f"{label:22s}{best['loop_s']:10.3f}{best['wall_s']:10.3f}{rate / 1e6:16.2f}{rate / ref_rate:8.2f}"
              f"{best['etotal']:14.3f}")


if __name__ == "__main__":
    main()
