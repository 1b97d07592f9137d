"""Per-condition figure: micrograph, segmentation overlay, facet graph drawn on the image."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from skimage import measure, segmentation  # noqa: E402

from msgnn.io import save_figure  # noqa: E402


def condition_figure(path, image: np.ndarray, labels: np.ndarray, facets: dict, pixel_size_m: float,
                     title: str) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.3))
    extent = [0, image.shape[1] * pixel_size_m * 1e6, image.shape[0] * pixel_size_m * 1e6, 0]
    for ax in axes:
        ax.imshow(image, cmap="gray", extent=extent)
        ax.set_xlabel("x (µm)")
    axes[0].set_title("micrograph")
    axes[1].imshow(segmentation.mark_boundaries(
        (image - image.min()) / max(np.ptp(image), 1e-12), labels, color=(1, 0.2, 0.1)), extent=extent)
    axes[1].set_title(f"segmentation ({labels.max()} regions)")
    cents = np.array([r.centroid for r in measure.regionprops(labels)]) * pixel_size_m * 1e6
    ei = facets["facet_edge_index"].numpy()
    for a, b in ei.T[ei[0] < ei[1]]:
        axes[2].plot(cents[[a, b], 1], cents[[a, b], 0], "-", color="tab:cyan", lw=0.8)
    axes[2].plot(cents[:, 1], cents[:, 0], "o", color="tab:orange", ms=3)
    axes[2].set_title(f"facet graph ({len(cents)} nodes, {ei.shape[1] // 2} edges)")
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def accuracy_figure(path, rows: list[dict]) -> None:
    noise = [r["noise"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(noise, [r["boundary_f1"] for r in rows], "o-", label="boundary F1 (2 px)")
    ax.plot(noise, [r["grain_count_error"] for r in rows], "s-", label="|grain count error|")
    ax.plot(noise, [r["mean_size_error"] for r in rows], "^-", label="|mean size error|")
    ax.set_xlabel("noise")
    ax.set_ylabel("fraction")
    ax.set_title("segmentation accuracy (synthetic JMAK images)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
