"""Time the microscopy stage's pieces at the default image size (not a test).

    python benchmarks/microscopy_segmentation.py [image_px] [grains_per_image] [n]
"""
import sys
import time

import numpy as np

from msgnn.microscopy.accuracy import boundary_f1
from msgnn.microscopy.facets import facet_graph, grain_statistics
from msgnn.microscopy.pipeline import _nondim_pixel
from msgnn.microscopy.segment import segment_grains
from msgnn.microscopy.simulate import render_micrograph, simulate_jmak


def main(image_px=192, grains=80, n=5, noise=0.08):
    t = {"simulate": 0.0, "render": 0.0, "segment": 0.0, "graph": 0.0}
    f1, cnt = [], []
    for i in range(n):
        rng = np.random.default_rng(i)
        t0 = time.perf_counter()
        m = simulate_jmak(1.0, 1.0, (image_px, image_px), _nondim_pixel(image_px, grains), rng)
        t1 = time.perf_counter()
        img = render_micrograph(m.labels, rng, noise=noise)
        t2 = time.perf_counter()
        labels, edge = segment_grains(img)
        t3 = time.perf_counter()
        facet_graph(labels, img, 1e-8, edge)
        t4 = time.perf_counter()
        for k, a, b in [("simulate", t0, t1), ("render", t1, t2), ("segment", t2, t3), ("graph", t3, t4)]:
            t[k] += b - a
        f1.append(boundary_f1(labels, m.labels)["f1"])
        cnt.append(grain_statistics(labels, 1)["n_grains"] / grain_statistics(m.labels, 1)["n_grains"] - 1)
    print(f"{n} images of {image_px}^2 px, ~{grains} grains, noise {noise}")
    for k, v in t.items():
        print(f"  {k:9s} {v / n * 1e3:7.1f} ms/image")
    print(f"  segmentation throughput {n * image_px ** 2 / t['segment'] / 1e6:.2f} megapixels/s (1 core)")
    print(f"  boundary F1 {np.mean(f1):.3f}, grain-count bias {np.mean(cnt):+.3f}")


if __name__ == "__main__":
    main(*[int(a) for a in sys.argv[1:4]])
