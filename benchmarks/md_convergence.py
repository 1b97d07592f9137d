"""Convergence audit of the MD kinetics: mu and v(T) of one potential under other MD settings.

The variants are the "materials" of a convergence config (configs/convergence.yaml: Cu_4x4_25ps,
Cu_8x8_25ps, ...: element, lateral box and growth time in the name), run by the workflow:

    snakemake --configfile configs/convergence.yaml --directory RUN $(python benchmarks/md_convergence.py --targets)
    python benchmarks/md_convergence.py RUN [--figure docs/figures/md_convergence.png]

Prints a markdown table per element: mu(100) with its 95 % CI, its ratio to the largest/longest
variant, the collision-limited (hard-sphere) estimate mu = C_100 sqrt(k_B / (m Tm)) with
C_100 = 1.44 (Amini & Laird, PRL 97, 216102, 2006), the between-replica scatter of v, and the
mu with the undercooling taken from the measured interface temperature instead of the thermostat's,
and the cost (summed wall time of the variant's slab runs, from the workflow's benchmark files).
"""
from __future__ import annotations

import argparse
import csv
import math
import re
from pathlib import Path

import yaml

from msgnn.io import read_json
from msgnn.kinetics import hard_sphere_mu
from msgnn.md.fit import kinetic_fit

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "convergence.yaml"
VARIANT = re.compile(r"^(?P<element>[A-Z][a-z]?)_(?P<nx>\d+)x(?P<ny>\d+)_(?P<ps>\d+)ps(?P<far>_far)?$")


def cost_s(run: Path, variant: str) -> float:
    """Summed wall time of the variant's md_run jobs (Snakemake benchmark files)."""
    total = 0.0
    # "{variant}_{orientation}_T..." only, not another variant's "{variant}_far_..." jobs
    for tsv in (run / "results/benchmarks/md/md_run").glob(f"{variant}_[0-9]*_T*.tsv"):
        with open(tsv) as f:
            total += float(next(csv.DictReader(f, delimiter="\t"))["s"])
    return total


def rows(run: Path) -> list[dict]:
    from pymatgen.core import Element

    out = []
    for kin_path in sorted((run / "results/md").glob("*/kinetics.json")):
        m = VARIANT.match(kin_path.parent.name)
        if not m:
            continue
        k = read_json(kin_path)
        o = k["orientations"]["100"]
        primary = [v for v in k["velocities"] if v.get("orientation", "100") == "100"]
        scatter = [v["stderr_m_per_s"] for v in primary]
        # dT from the measured interface temperature instead of the thermostat's
        used = [v for v in primary if v["temperature_K"] in o["fit_temperatures_K"]]
        f_int = kinetic_fit([v["interface_temperature_K"] for v in used], [v["velocity_m_per_s"] for v in used],
                            [v["stderr_m_per_s"] for v in used], k["reference_melting_point_K"])
        mass = float(Element(k["element"]).atomic_mass)
        out.append({"variant": kin_path.parent.name, "element": m["element"],
                    "lateral_cells": int(m["nx"]), "growth_ps": int(m["ps"]),
                    "thermostat": "far from interfaces" if m["far"] else "all atoms",
                    "mu": o["mu_m_per_s_per_K"], "ci95": o["ci95"],
                    "mu_interface_T": f_int["mu_m_per_s_per_K"], "ci95_interface_T": f_int["ci95"],
                    "hard_sphere_mu": hard_sphere_mu(mass, k["reference_melting_point_K"]),
                    "median_stderr_v": sorted(scatter)[len(scatter) // 2] if scatter else None,
                    "cost_s": cost_s(run, kin_path.parent.name)})
    return out


def table(rs: list[dict]) -> str:
    lines = []
    for element in sorted({r["element"] for r in rs}):
        sub = sorted((r for r in rs if r["element"] == element),
                     key=lambda r: (r["thermostat"], r["lateral_cells"], r["growth_ps"]))
        ref = max((r for r in sub if r["thermostat"] == "all atoms"), key=lambda r: (r["lateral_cells"], r["growth_ps"]))
        lines += [f"\n{element} (100); reference: {ref['variant']}",
                  "| variant | lateral box (cells) | growth (ps) | thermostat | mu (m/s/K) | 95 % CI | mu / reference | "
                  "mu, dT from interface T | hard-sphere mu | median stderr of v (m/s) | cost (CPU s) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in sub:
            lines.append(f"| {r['variant']} | {r['lateral_cells']}x{r['lateral_cells']} | {r['growth_ps']} | {r['thermostat']} | "
                         f"{r['mu']:.3f} | [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}] | {r['mu'] / ref['mu']:.2f} | "
                         f"{r['mu_interface_T']:.3f} [{r['ci95_interface_T'][0]:.3f}, {r['ci95_interface_T'][1]:.3f}] | "
                         f"{r['hard_sphere_mu']:.3f} | {r['median_stderr_v']:.1f} | {r['cost_s']:.0f} |")
    return "\n".join(lines)


def figure(rs: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from msgnn.io import save_figure

    elements = sorted({r["element"] for r in rs})
    fig, axes = plt.subplots(1, len(elements), figsize=(5 * len(elements), 3.6), squeeze=False)
    for ax, element in zip(axes[0], elements):
        sub = [r for r in rs if r["element"] == element]
        for ps, marker in ((25, "o"), (50, "s")):
            pts = sorted((r for r in sub if r["growth_ps"] == ps and r["thermostat"] == "all atoms"),
                         key=lambda r: r["lateral_cells"])
            if pts:
                x = [r["lateral_cells"] for r in pts]
                y = [r["mu"] for r in pts]
                err = [[r["mu"] - r["ci95"][0] for r in pts], [r["ci95"][1] - r["mu"] for r in pts]]
                ax.errorbar(x, y, yerr=err, marker=marker, capsize=3, label=f"{ps} ps growth")
        for r in (r for r in sub if r["thermostat"] != "all atoms"):
            ax.errorbar([r["lateral_cells"] + 0.15], [r["mu"]], yerr=[[r["mu"] - r["ci95"][0]], [r["ci95"][1] - r["mu"]]],
                        marker="^", capsize=3, label=f"{r['growth_ps']} ps, thermostat {r['thermostat']}")
        ax.axhline(sub[0]["hard_sphere_mu"], color="0.4", ls="--", label="hard sphere (Amini & Laird)")
        ax.set(xlabel="lateral box (unit cells)", ylabel="mu(100) (m/s/K)", title=element)
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def targets() -> list[str]:
    names = yaml.safe_load(CONFIG.read_text())["materials"]
    return [f"results/md/{name}/kinetics.json" for name in names]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", nargs="?", type=Path, help="the folder the convergence workflow ran in")
    ap.add_argument("--figure", type=Path, help="write the mu-vs-setting figure here")
    ap.add_argument("--targets", action="store_true", help="print the workflow targets and exit")
    args = ap.parse_args()
    if args.targets:
        print(" ".join(targets()))
        return
    rs = rows(args.run)
    print(table(rs))
    if args.figure:
        figure(rs, args.figure)


if __name__ == "__main__":
    main()
