"""Benchmark (not a test): peak memory and time of the reactor path on large logs, and of the
microscopy path on a large micrograph, each in a fresh process.

    python benchmarks/reactor_memory.py [--rows 1000000 10000000] [--image-px 4096] [--out FILE]

A log of N rows (timestamps x 200 size bins, a steady-state MSMPR distribution with 1 % noise) is
written as CSV and run through read_table + clean_table + fit_msmpr (`analyse`); a px x px
micrograph (a synthetic JMAK microstructure) through read_segmentable + segment_grains +
facet_graph. Prints and writes (JSON) peak RSS, wall time and, for the logs, peak bytes per CSV
byte: the figure msgnn.reactor.schema.CSV_MEMORY_PER_BYTE must stay above, so that a log too
large for the machine is refused before reading instead of killed.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD_LOG = """
import time, resource, sys
from msgnn.reactor.pipeline import analyse
t = time.time(); clean, report, summary, fit, meta = analyse(sys.argv[1])
print(time.time() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, len(clean))
"""
CHILD_IMAGE = """
import time, resource, sys
from msgnn.errors import InputFileError
from msgnn.microscopy.io import read_segmentable
from msgnn.microscopy.segment import segment_grains
from msgnn.microscopy.facets import facet_graph
t = time.time()
try:
    m = read_segmentable(sys.argv[1])
except InputFileError as exc:     # too large for this machine: refused before segmenting
    print(time.time() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, -1)
    print(exc, file=sys.stderr)
    sys.exit(0)
labels, edge = segment_grains(m.data)
g = facet_graph(labels, m.data, m.pixel_size_m, edge)
print(time.time() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, int(labels.max()))
"""


def _child(code: str, path: Path) -> tuple[float, int, int, str]:
    """(wall s, peak RSS bytes, count or -1 where the file was refused, stderr's last line)."""
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    wall, rss, n = out.stdout.split()
    return float(wall), int(rss), int(n), (out.stderr.strip().splitlines() or [""])[-1]


def make_log(rows: int, path: Path) -> None:
    """A steady-state MSMPR log of `rows` rows written directly with numpy (the generator with its
    faults is far slower at 10 million rows): 200 size bins per timestamp, n(L) = n0 exp(-L / (G tau))
    with 1 % noise, constant process channels."""
    import numpy as np
    import pandas as pd
    bins, tau, G = 200, 1800.0, 1e-8
    n_t = rows // bins
    rng = np.random.default_rng(1)
    L_um = np.tile((np.arange(bins) + 0.5) * 0.5, n_t)
    n = 1e18 * np.exp(-L_um * 1e-6 / (G * tau)) * (1 + 0.01 * rng.standard_normal(L_um.size))
    pd.DataFrame({"timestamp_s": np.repeat(np.arange(n_t) * 30.0, bins), "temperature_K": 870.0,
                  "supersaturation": 0.05, "residence_time_s": tau, "size_um": L_um,
                  "population_density_per_m4": n}).to_csv(path, index=False, float_format="%.7g")


def make_image(px: int, path: Path) -> None:
    """A px x px micrograph of a JMAK microstructure; above 1024 px, a 1024 px one tiled (building
    a 4096 px microstructure directly takes more memory than this machine has)."""
    import numpy as np
    from msgnn.microscopy.io import write_micrograph
    from msgnn.microscopy.pipeline import natural_microstructure
    tile = min(px, 1024)
    m = natural_microstructure(tile, tile * tile / 2000, np.random.default_rng(1))
    labels = np.tile(m.labels, (px // tile, px // tile))
    image = (labels % 7).astype(np.float32) + np.random.default_rng(2).normal(0, 0.3, labels.shape).astype(np.float32)
    write_micrograph(path, image, 1e-8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 10_000_000])
    ap.add_argument("--image-px", type=int, nargs="*", default=[4096])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/reactor_memory.json"))
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as d:
        for rows in args.rows:
            path = Path(d) / f"log_{rows}.csv"
            t = time.time()
            make_log(rows, path)
            wall, rss, n, _ = _child(CHILD_LOG, path)
            r = {"case": "reactor log", "rows": rows, "csv_MB": path.stat().st_size / 1e6, "generate_s": time.time() - t - wall,
                 "analyse_s": wall, "peak_rss_GB": rss / 1e9, "rss_per_csv_byte": rss / path.stat().st_size, "clean_rows": n}
            print(json.dumps(r), flush=True)
            results.append(r)
            path.unlink()
        for px in args.image_px:
            path = Path(d) / f"image_{px}.tif"
            make_image(px, path)
            wall, rss, n, message = _child(CHILD_IMAGE, path)
            r = {"case": "micrograph", "px": px, "segment_s": wall, "peak_rss_GB": rss / 1e9, "grains": n}
            if n < 0:
                r = {"case": "micrograph", "px": px, "refused_after_s": wall, "peak_rss_GB": rss / 1e9, "message": message}
            print(json.dumps(r), flush=True)
            results.append(r)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": "2-core CPU box (see README)", "date": time.strftime("%Y-%m-%d"),
                                    "peak_rss_of": "the whole child process", "results": results}, indent=2))


if __name__ == "__main__":
    main()
