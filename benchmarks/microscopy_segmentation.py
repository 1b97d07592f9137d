"""Time the microscopy stage's pieces at the default image size (not a test).

    python benchmarks/microscopy_segmentation.py [image_px] [grains_per_image] [n]
"""
import sys
import time

import numpy as np

from msgnn.microscopy.accuracy import boundary_f1
from msgnn.microscopy.facets import facet_graph, grain_statistics
from msgnn.microscopy.pipeline import measure_growth, natural_microstructure
from msgnn.microscopy.segment import segment_grains
from msgnn.microscopy.simulate import render_micrograph, render_series, series_times


def main(image_px=384, grains=50, n=5, noise=0.08, frames=5):
    t = {"simulate": 0.0, "render": 0.0, "segment": 0.0, "graph": 0.0, "series": 0.0, "growth": 0.0}
    f1, cnt, growth = [], [], []
    for i in range(n):
        rng = np.random.default_rng(i)
        t0 = time.perf_counter()
        m = natural_microstructure(image_px, grains, rng)
        t1 = time.perf_counter()
        img = render_micrograph(m.labels, rng, noise=noise)
        t2 = time.perf_counter()
        labels, edge = segment_grains(img)
        t3 = time.perf_counter()
        facet_graph(labels, img, 1e-8, edge)
        t4 = time.perf_counter()
        times = np.concatenate([[0.0], series_times(frames)])
        series = render_series(m, times, rng, noise=noise)
        t5 = time.perf_counter()
        rates = measure_growth(series[0], series[1:], times[1:], labels, 1.0)["rate_m_per_s"]
        t6 = time.perf_counter()
        growth.append(np.nanmedian(rates) * m.pixel_size_m - 1)    # G = 1 in natural units
        for k, a, b in [("simulate", t0, t1), ("render", t1, t2), ("segment", t2, t3), ("graph", t3, t4),
                        ("series", t4, t5), ("growth", t5, t6)]:
            t[k] += b - a
        f1.append(boundary_f1(labels, m.labels)["f1"])
        cnt.append(grain_statistics(labels, 1)["n_grains"] / grain_statistics(m.labels, 1)["n_grains"] - 1)
    print(f"{n} images of {image_px}^2 px, ~{grains} grains, noise {noise}")
    for k, v in t.items():
        print(f"  {k:9s} {v / n * 1e3:7.1f} ms/image")
    print(f"  segmentation throughput {n * image_px ** 2 / t['segment'] / 1e6:.2f} megapixels/s (1 core)")
    print(f"  facet growth rates ({frames} frames + reference): "
          f"{n * (frames + 1) * image_px ** 2 / t['growth'] / 1e6:.2f} megapixels/s")
    print(f"  boundary F1 {np.mean(f1):.3f}, grain-count bias {np.mean(cnt):+.3f}, "
          f"facet growth-rate bias {np.mean(growth):+.4f}")


if __name__ == "__main__":
    main(*[int(a) for a in sys.argv[1:4]])
