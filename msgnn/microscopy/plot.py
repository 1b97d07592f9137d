"""Per-condition figure: micrograph, segmentation overlay, facet graph drawn on the image."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from skimage import measure, segmentation  # noqa: E402

from msgnn.io import save_figure  # noqa: E402


def condition_figure(path, image: np.ndarray, labels: np.ndarray, facets: dict, pixel_size_m: float,
                     title: str, series=None, growth: dict | None = None,
                     input_growth_m_per_s: float | None = None) -> None:
    """Top row: micrograph, segmentation overlay, facet graph drawn on the image. With an in-situ
    series a second row: three frames with the detected crystal outline and the histogram of the
    facet growth rates (with the G that drove the simulation)."""
    rows = 2 if series is not None and growth is not None else 1
    fig, axes = plt.subplots(rows, 3, figsize=(12, 4.3 * rows), squeeze=False)
    extent = [0, image.shape[1] * pixel_size_m * 1e6, image.shape[0] * pixel_size_m * 1e6, 0]
    top = axes[0]
    for ax in top:
        ax.imshow(image, cmap="gray", extent=extent)
        ax.set_xlabel("x (µm)")
    top[0].set_title("micrograph")
    top[1].imshow(segmentation.mark_boundaries(
        (image - image.min()) / max(np.ptp(image), 1e-12), labels, color=(1, 0.2, 0.1)), extent=extent)
    top[1].set_title(f"segmentation ({labels.max()} regions)")
    cents = np.array([r.centroid for r in measure.regionprops(labels)]) * pixel_size_m * 1e6
    ei = facets["facet_edge_index"].numpy()
    for a, b in ei.T[ei[0] < ei[1]]:
        top[2].plot(cents[[a, b], 1], cents[[a, b], 0], "-", color="tab:cyan", lw=0.8)
    top[2].plot(cents[:, 1], cents[:, 0], "o", color="tab:orange", ms=3)
    top[2].set_title(f"facet graph ({len(cents)} nodes, {ei.shape[1] // 2} edges)")
    if rows == 2:
        frames, times_s = series
        masks = growth["masks"]
        n = len(frames) - 1            # frames[0] is the reference before nucleation
        picks = sorted({max(1, n // 3), min(n, (2 * n) // 3 + 1)})
        for ax, k in zip(axes[1][:2], picks):
            ax.imshow(frames[k], cmap="gray", extent=extent)
            ax.contour(masks[k - 1], levels=[0.5], colors="tab:red", linewidths=0.7, extent=extent, origin="upper")
            ax.set_title(f"in-situ frame t = {times_s[k]:.3g} s (crystal outline)")
            ax.set_xlabel("x (µm)")
        r = growth["rate_m_per_s"][np.isfinite(growth["rate_m_per_s"])]
        ax = axes[1][2]
        if r.size:
            ax.hist(r, bins=20, color="tab:blue", alpha=0.8)
            ax.axvline(np.median(r), color="k", label=f"median {np.median(r):.3g} m/s")
        if input_growth_m_per_s:
            ax.axvline(input_growth_m_per_s, color="tab:red", ls="--", label=f"input G {input_growth_m_per_s:.3g} m/s")
        ax.set_xlabel("facet growth rate (m/s)")
        ax.set_ylabel("facets")
        ax.set_title(f"facet growth rates ({r.size} facets)")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def accuracy_figure(path, rows: list[dict]) -> None:
    noise = [r["noise"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(noise, [r["boundary_f1"] for r in rows], "o-", label="boundary F1 (2 px)")
    ax.plot(noise, [r["grain_count_error"] for r in rows], "s-", label="|grain count error|")
    ax.plot(noise, [r["mean_size_error"] for r in rows], "^-", label="|mean size (intercept) error|")
    ax.plot(noise, [r["mean_diameter_error"] for r in rows], "v:", label="|mean diameter error|")
    if rows[0].get("facet_growth_error") is not None:
        ax.plot(noise, [r["facet_growth_error"] for r in rows], "d-", label="|facet growth rate error|")
    ax.set_xlabel("noise")
    ax.set_ylabel("fraction")
    ax.set_title("segmentation accuracy (synthetic JMAK images)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
