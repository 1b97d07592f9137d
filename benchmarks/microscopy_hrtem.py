"""Time per synthetic HRTEM and HAADF-STEM image (abTEM) at the default settings, and the accuracy of
the lattice-fringe segmentation, on MD snapshots of Al, Cu and Si (not a test).

    python benchmarks/microscopy_hrtem.py [--repeats 3] [--haadf-repeats 3] [--threads 1] [--results results]

Snapshots: per material, the r0 (100) replica under results/md/ whose last snapshot is closest to
60 % solid (both interfaces in view); without results/, a slab is built here instead (ideal
crystal with 0.08 Å thermal jitter + random dense liquid, labelled "built"). Each image is
simulated `repeats` times with different noise seeds; the table gives the median time and the
accuracy of the last repeat (pixel accuracy, crystalline IoU, error of each interface vs the MD
interface_z_A).
"""
from __future__ import annotations

import argparse
import glob
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from msgnn.md.snapshots import read_snapshots
from msgnn.microscopy.hrtem import Frame, MicrographSettings, analyse_image, frame, simulate_haadf, simulate_hrtem

LATTICE = {"Al": ("fcc", 4.05), "Cu": ("fcc", 3.615), "Si": ("diamond", 5.431)}


def pick_snapshot(results: Path, material: str, target_solid: float = 0.6):
    paths = sorted(glob.glob(str(results / "md" / material / "100" / "T*" / "r0" / "snapshots.npz")))
    best = None
    for p in paths:
        s = read_snapshots(p)
        f = float(s["solid"][-1].mean())
        if best is None or abs(f - target_solid) < abs(best[1] - target_solid):
            best = (p, f, s)
    return best


def built_slab(material: str, seed: int = 0) -> Frame:
    """An ideal crystal slab (4 x 4 x 10 cells, thermal jitter) with a 30 Å random dense liquid."""
    lattice, a = LATTICE[material]
    rng = np.random.default_rng(seed)
    basis = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    if lattice == "diamond":
        basis = np.concatenate([basis, basis + 0.25])
    cells = np.array([[i, j, k] for i in range(4) for j in range(4) for k in range(10)], float)
    xtal = ((cells[:, None] + basis[None]) * a).reshape(-1, 3) + [0, 0, 2.0]
    xtal += rng.normal(0, 0.08, xtal.shape)
    L = np.array([4 * a, 4 * a, 10 * a + 30.0])
    zl, zh = 2.0 - a / 8, 2.0 + 10 * a - a / 8
    n_xtal_density = len(xtal) / (L[0] * L[1] * 10 * a)
    n_liq = int(0.95 * n_xtal_density * L[0] * L[1] * 30.0)
    dmin = 0.72 * a / np.sqrt(2) if lattice == "fcc" else 2.1   # random sequential addition jams near 0.38 packing
    pts = list(xtal)
    while len(pts) < len(xtal) + n_liq:
        p = np.array([rng.random() * L[0], rng.random() * L[1], zh + 0.8 + rng.random() * 28.4])
        d = np.asarray(pts) - p
        d -= L * np.round(d / L)
        if np.einsum("ij,ij->i", d, d).min() >= dmin ** 2:
            pts.append(p)
    pos = np.asarray(pts) % L
    solid = np.r_[np.ones(len(xtal), bool), np.zeros(n_liq, bool)]
    return Frame(pos, L, solid, np.array([zl, zh]) % L[2], material, None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--haadf-repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--results", default="results")
    ap.add_argument("--materials", nargs="+", default=["Al", "Cu", "Si"])
    args = ap.parse_args()
    settings = MicrographSettings.defaults(threads=args.threads)
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    print(f"machine: {cpu}, {os.cpu_count()} cores, threads per image {args.threads}, "
          f"load average at start {os.getloadavg()[0]:.1f}")
    rows = []
    for material in args.materials:
        found = pick_snapshot(Path(args.results), material)
        if found:
            path, f_solid, snap = found
            fr = frame(snap, -1)
            source = str(Path(path).parent.parent.relative_to(Path(args.results) / "md"))
        else:
            fr = built_slab(material)
            source = "built"
        for modality, sim_fn, n in (("HRTEM", simulate_hrtem, args.repeats), ("HAADF", simulate_haadf, args.haadf_repeats)):
            if n < 1:
                continue
            times = []
            for r in range(n):
                t0 = time.perf_counter()
                sim = sim_fn(fr, settings, seed=r)
                times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            an = analyse_image(sim, fr, settings)
            seg_s = time.perf_counter() - t0
            acc = an["accuracy"]
            err = acc["interface_errors_A"]
            rows.append((material, source, len(fr.positions_A), f"{fr.solid.mean():.2f}", modality,
                         "x".join(map(str, sim.image.shape)), f"{sim.metadata['thickness_A']:.0f}",
                         f"{statistics.median(times):.1f}", f"{min(times):.1f}-{max(times):.1f}", f"{seg_s:.2f}",
                         f"{acc['pixel_accuracy']:.3f}", f"{acc['crystalline_iou']:.3f}",
                         "-" if err is None else f"{err[0]:+.1f} / {err[1]:+.1f}"))
            print("  ", " | ".join(map(str, rows[-1])), flush=True)
    head = ("material", "snapshot", "atoms", "solid", "image", "px", "t (Å)", "median s", "range s",
            "segment s", "pixel acc.", "IoU", "interface err. (Å)")
    print()
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(map(str, r)) + " |")
    print(f"\nload average at end {os.getloadavg()[0]:.1f}; default settings: "
          f"HRTEM {settings.hrtem}, HAADF {settings.haadf}")


if __name__ == "__main__":
    main()
