"""Grain segmentation of a micrograph with scikit-image.

Method (every threshold is relative to quantities measured on the image itself, so one set of
parameters works across noise levels instead of being tuned to one):

1. Robust normalisation (1-99 % percentiles) and flat-fielding: divide by a heavily smoothed
   copy, which removes uneven illumination.
2. Denoising: total variation (Chambolle) with weight = ``tv_factor`` x the estimated pixel noise
   sigma (MAD of pixel differences), i.e. sized to the noise.
3. Boundary map: Sato dark-ridge filter (scales ``ridge_sigmas`` px, about the groove width after
   blur), since grain boundaries image as dark grooves.
4. Markers: h-minima of the lightly smoothed boundary map with depth ``h`` x the noise floor of the
   map (its MAD) -- deliberately generous: over-segmentation is undone by step 6, while a grain
   without a marker cannot be recovered.
5. Watershed of the boundary map from these markers.
6. Region merging on the region adjacency graph (skimage.graph.rag_boundary, merge_hierarchical,
   weakest boundary first, boundary statistics pooled as regions merge). A shared boundary is
   real only if its mean ridge response passes two tests:
   - *contrast*: it is at least ``contrast_frac`` of the typical strength of a real boundary in
     this image (the map is normalised by its 99th percentile; boundaries cover well over 1 %
     of the pixels).
     This removes the weak shading ridges that dominate at low noise;
   - *significance*: it exceeds the map's noise floor (median) by ``z_min`` standard errors,
     standard error = MAD / sqrt(boundary length / ``corr_px``) with ``corr_px`` the correlation
     length of the filtered noise along the boundary. This removes the noise ridges that a
     fixed contrast threshold would keep at high noise.
7. Regions smaller than ``min_area_px`` (below the optical resolution: blur + groove width) are
   merged into the neighbour with the weakest shared boundary.

Note on accuracy: grains much smaller than the resolution (a few pixels) cannot be segmented;
their share of a Johnson-Mehl microstructure is set by the field of view vs grain size, see
msgnn.microscopy.simulate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage import filters, graph, measure, morphology, restoration, segmentation


@dataclass
class SegmentParams:
    flatfield_sigma_frac: float = 0.12   # background sigma as a fraction of the image size
    tv_factor: float = 2.5              # TV weight = tv_factor x estimated noise sigma
    ridge_sigmas: tuple = (1.0, 1.5)    # Sato filter scales (px)
    marker_smooth: float = 0.5          # Gaussian sigma (px) applied before h-minima
    h: float = 1.0                      # h-minima depth, in units of the boundary map's noise MAD
    contrast_frac: float = 0.2          # real boundary: mean >= this x 99th percentile of the map
    z_min: float = 3.0                  # real boundary: mean above noise floor by >= z_min std errors
    corr_px: float = 2.0                # correlation length (px) of filtered noise along a boundary
    min_area_px: int = 8                # then merge regions smaller than this (px)


def _normalise(img):
    lo, hi = np.percentile(img, [1, 99])
    return np.clip((img - lo) / max(hi - lo, 1e-12), 0, 1)


def noise_sigma(img: np.ndarray) -> float:
    """Robust estimate of the pixel noise sigma (MAD of horizontal pixel differences)."""
    d = np.diff(img, axis=1).ravel()
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2))


def boundary_map(image: np.ndarray, p: SegmentParams = SegmentParams()) -> tuple[np.ndarray, np.ndarray]:
    """Return (denoised flat-fielded image, boundary strength map in [0, 1]: the Sato dark-ridge
    response divided by its 99th percentile, the typical strength of a real boundary)."""
    img = _normalise(image.astype(float))
    bg = ndi.gaussian_filter(img, p.flatfield_sigma_frac * max(img.shape), mode="reflect")
    img = _normalise(img / np.maximum(bg, 1e-3))
    den = restoration.denoise_tv_chambolle(img, weight=max(p.tv_factor * noise_sigma(img), 1e-3))
    ridge = filters.sato(den, sigmas=p.ridge_sigmas, black_ridges=True, mode="reflect")
    return den, np.clip(ridge / max(float(np.percentile(ridge, 99)), 1e-12), 0, 1)


def _merge_small(labels, edge, min_area):
    """Merge regions below `min_area` pixels into the neighbour with the weakest shared boundary."""
    for _ in range(10):
        areas = np.bincount(labels.ravel())
        small = [r for r in np.flatnonzero((areas > 0) & (areas < min_area))]
        if not small:
            break
        rag = graph.rag_boundary(labels, edge, connectivity=1)
        mapping = np.arange(labels.max() + 1)
        done = set()
        for r in sorted(small, key=lambda r: areas[r]):
            if r in done or r not in rag:
                continue
            nbrs = [(rag[r][n]["weight"], n) for n in rag.neighbors(r) if n not in done]
            if not nbrs:
                continue
            _, n = min(nbrs)
            mapping[r] = n
            done.update((r, n))
        labels = mapping[labels]
        # resolve chains a->b->c
        labels = mapping[labels]
    return segmentation.relabel_sequential(labels)[0]


def _no_node_update(g, src, dst):
    """merge_hierarchical callback: nothing to update on the nodes (edges are reweighted)."""


def _pooled_boundary(g, src, dst, n):
    """merge_hierarchical callback: pool the boundary sums of src-n and dst-n, rescore."""
    default = {"sum": 0.0, "count": 0}
    a, b = g[src].get(n, default), g[dst].get(n, default)
    total, count = a["sum"] + b["sum"], a["count"] + b["count"]
    return {"sum": total, "count": count, "weight": g.graph["score"](total, count)}


def segment_grains(image: np.ndarray, p: SegmentParams = SegmentParams()) -> tuple[np.ndarray, np.ndarray]:
    """Segment a micrograph into grains. Returns (labels int32 1..n, boundary map)."""
    _, edge = boundary_map(image, p)
    floor = float(np.median(edge))
    mad = max(1.4826 * float(np.median(np.abs(edge - floor))), 1e-12)

    sm = ndi.gaussian_filter(edge, p.marker_smooth) if p.marker_smooth > 0 else edge
    markers = measure.label(morphology.h_minima(sm, p.h * mad))
    labels = segmentation.watershed(edge, markers)

    def score(total, count):
        """>= 1 for a real boundary: min of the contrast and the significance test."""
        mean = total / count
        contrast = mean / p.contrast_frac   # edge is in units of a typical boundary
        z = (mean - floor) / mad * np.sqrt(count / p.corr_px)
        return min(contrast, z / p.z_min)

    if labels.max() > 1:
        rag = graph.rag_boundary(labels, edge, connectivity=1)
        rag.graph["score"] = score
        for _, _, d in rag.edges(data=True):
            d["sum"] = d["weight"] * d["count"]
            d["weight"] = score(d["sum"], d["count"])
        labels = graph.merge_hierarchical(labels, rag, thresh=1.0, rag_copy=False, in_place_merge=True,
                                          merge_func=_no_node_update, weight_func=_pooled_boundary) + 1
    if p.min_area_px > 0:
        labels = _merge_small(labels, edge, p.min_area_px)
    return labels.astype(np.int32), edge
