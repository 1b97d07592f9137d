"""Grain segmentation of a micrograph with scikit-image.

Method (every threshold is relative to quantities measured on the image itself, so one set of
parameters works across noise levels instead of being tuned to one):

1. Variance stabilisation: square root of the (non-negative) intensities, which makes counting
   (shot) noise about equally strong in bright and dark grains; then robust normalisation
   (1-99 % percentiles) and flat-fielding: divide by a heavily smoothed copy, which removes
   uneven illumination.
2. Denoising: total variation (Chambolle) with weight = ``tv_factor`` x the estimated pixel noise
   sigma (MAD of pixel differences), i.e. sized to the noise.
3. Boundary map: Sato dark-ridge filter (scales ``ridge_sigmas`` px, about the groove width after
   blur), since grain boundaries image as dark grooves; divided by its 99th percentile, the
   typical strength of a real boundary (boundaries cover well over 1 % of the pixels).
4. Markers: h-minima of the boundary map with depth ``h`` x the noise floor of the map (its
   MAD) -- deliberately generous: over-segmentation is undone by step 6, while a grain without a
   marker cannot be recovered.
5. Watershed of the boundary map from these markers.
6. Region merging on the region adjacency graph (skimage.graph.merge_hierarchical, weakest
   boundary first, the boundary pixels pooled as regions merge). A boundary's strength is a low
   quantile (``boundary_quantile``) of the map along it, not its mean: a real grain boundary is
   a groove along its whole length, while a false one cuts through a grain interior for part of
   its length. A boundary is real only if its strength passes two tests:
   - *contrast*: at least ``contrast_frac`` of a typical real boundary. This removes the weak
     shading ridges that dominate at low noise;
   - *significance*: above the strength that watershed lines reach on noise alone. That level is
     measured, not modelled: a noise-only image with this image's local noise level (from the
     denoising residual) goes through steps 2-5, and the threshold is the ``null_quantile`` of the
     same boundary statistic over its watershed lines. Watershed lines follow the crests of the
     map, so on noise they sit well above the map's median; a test against the median lets
     noise loops through at high noise.
7. Regions smaller than ``min_area_px`` (below the optical resolution: blur + groove width) are
   merged into the neighbour with the weakest shared boundary.

The noise-only image is drawn from a fixed seed, so a segmentation is reproducible bit for bit.

Note on accuracy: grains much smaller than the resolution (a few pixels) cannot be segmented;
their share of a Johnson-Mehl microstructure is set by the field of view vs grain size, see
msgnn.microscopy.simulate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.stats import median_abs_deviation
from skimage import filters, graph, measure, morphology, restoration, segmentation


@dataclass
class SegmentParams:
    flatfield_sigma_frac: float = 0.12   # background sigma as a fraction of the image size
    tv_factor: float = 2.5              # TV weight = tv_factor x estimated noise sigma
    ridge_sigmas: tuple = (1.0, 1.5)    # Sato filter scales (px)
    h: float = 1.0                      # h-minima depth, in units of the boundary map's noise MAD
    boundary_quantile: float = 0.3      # a boundary's strength: this quantile of the map along it
    contrast_frac: float = 0.2          # real boundary: strength >= this x a typical real boundary
    null_quantile: float = 0.99         # real boundary: strength above this quantile on noise alone
    noise_window_px: float = 4.0        # Gaussian window (px) of the local noise-level estimate
    min_area_px: int = 8                # then merge regions smaller than this (px)
    null_seed: int = 0                  # seed of the noise-only image


def _normalise(img):
    lo, hi = np.percentile(img, [1, 99])
    return np.clip((img - lo) / max(hi - lo, 1e-12), 0, 1)


def noise_sigma(img: np.ndarray) -> float:
    """Robust estimate of the pixel noise sigma (MAD of horizontal pixel differences)."""
    d = np.diff(img, axis=1).ravel()
    return float(median_abs_deviation(d, scale="normal") / np.sqrt(2))


def _quantile(values: np.ndarray, q: float) -> float:
    """np.quantile(values, q) (linear interpolation) by partial sort: called once per boundary
    and merge, where np.quantile's overhead dominated the segmentation time."""
    pos = q * (len(values) - 1)
    lo, hi = int(np.floor(pos)), int(np.ceil(pos))
    part = np.partition(values, (lo, hi))
    a, b, t = part[lo], part[hi], pos - lo
    return float(a + (b - a) * t if t < 0.5 else b - (b - a) * (1 - t))   # numpy's lerp, bit for bit


def _ridges(img: np.ndarray, sigma: float, p: SegmentParams) -> tuple[np.ndarray, np.ndarray]:
    """(TV-denoised image, Sato dark-ridge response) for pixel noise `sigma`."""
    den = restoration.denoise_tv_chambolle(img, weight=max(p.tv_factor * sigma, 1e-3))
    return den, filters.sato(den, sigmas=p.ridge_sigmas, black_ridges=True, mode="reflect")


def _watershed(edge: np.ndarray, p: SegmentParams) -> np.ndarray:
    """Watershed of a boundary map from its h-minima (depth h x the map's noise MAD)."""
    mad = max(float(median_abs_deviation(edge, axis=None, scale="normal")), 1e-12)
    return segmentation.watershed(edge, measure.label(morphology.h_minima(edge, p.h * mad)))


def _boundary_pixels(labels: np.ndarray, edge: np.ndarray) -> dict:
    """{(a, b): boundary-map values along the boundary of regions a < b}, one value per pair of
    4-adjacent pixels in different regions (the stronger of the two)."""
    pairs = [(labels[:, :-1], labels[:, 1:], edge[:, :-1], edge[:, 1:]),
             (labels[:-1], labels[1:], edge[:-1], edge[1:])]
    n = int(labels.max()) + 1
    keys, vals = [], []
    for la, lb, ea, eb in pairs:
        m = la != lb
        keys.append(np.minimum(la[m], lb[m]).astype(np.int64) * n + np.maximum(la[m], lb[m]))
        vals.append(np.maximum(ea[m], eb[m]))
    keys, vals = np.concatenate(keys), np.concatenate(vals)
    order = np.argsort(keys, kind="stable")
    keys, vals = keys[order], vals[order]
    uniq, start = np.unique(keys, return_index=True)
    return {(int(k // n), int(k % n)): v for k, v in zip(uniq, np.split(vals, start[1:]))}


def _noise_threshold(sigma_map: np.ndarray, sigma: float, scale: float, p: SegmentParams) -> float:
    """The boundary strength that watershed lines reach on noise alone: steps 2-5 on a flat image
    with noise of standard deviation `sigma_map` (per pixel), map scaled by `scale` as the image's."""
    rng = np.random.default_rng(p.null_seed)
    noise = 0.5 + rng.standard_normal(sigma_map.shape) * sigma_map
    edge = _ridges(noise, sigma, p)[1] / scale
    strengths = [_quantile(v, p.boundary_quantile)
                 for v in _boundary_pixels(_watershed(edge, p), edge).values() if len(v) >= 4]
    return float(np.quantile(strengths, p.null_quantile)) if strengths else 0.0


def boundary_map(image: np.ndarray, p: SegmentParams = SegmentParams()) -> tuple[np.ndarray, float]:
    """Return (boundary strength map in [0, 1]: the Sato dark-ridge response of the denoised,
    flat-fielded image divided by its 99th percentile, the typical strength of a real boundary;
    the boundary strength that watershed lines reach on noise alone, in the same units)."""
    img = _normalise(np.sqrt(np.clip(image.astype(float), 0, None)))
    bg = ndi.gaussian_filter(img, p.flatfield_sigma_frac * max(img.shape), mode="reflect")
    img = _normalise(img / np.maximum(bg, 1e-3))
    sigma = noise_sigma(img)
    den, ridge = _ridges(img, sigma, p)
    scale = max(float(np.percentile(ridge, 99)), 1e-12)
    local = np.sqrt(ndi.gaussian_filter((img - den) ** 2, p.noise_window_px))
    sigma_map = local * sigma / max(float(np.median(local)), 1e-12)
    return np.clip(ridge / scale, 0, 1), _noise_threshold(sigma_map, sigma, scale, p)


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
    """merge_hierarchical callback: pool the boundary pixels of src-n and dst-n, rescore."""
    parts = [g[a][n]["values"] for a in (src, dst) if n in g[a]]
    values = np.concatenate(parts)
    return {"values": values, "weight": g.graph["score"](values)}


def segment_grains(image: np.ndarray, p: SegmentParams = SegmentParams()) -> tuple[np.ndarray, np.ndarray]:
    """Segment a micrograph into grains. Returns (labels int32 1..n, boundary map)."""
    edge, noise_level = boundary_map(image, p)
    labels = _watershed(edge, p)

    def score(values):
        """>= 1 for a real boundary: the weaker of the contrast and the significance test."""
        strength = _quantile(values, p.boundary_quantile)
        return min(strength / p.contrast_frac, strength / max(noise_level, 1e-12))

    if labels.max() > 1:
        rag = graph.RAG()
        rag.graph["score"] = score
        for (a, b), values in _boundary_pixels(labels, edge).items():
            rag.add_edge(a, b, values=values, weight=score(values))
        for n in rag.nodes:
            rag.nodes[n]["labels"] = [n]
        labels = graph.merge_hierarchical(labels, rag, thresh=1.0, rag_copy=False, in_place_merge=True,
                                          merge_func=_no_node_update, weight_func=_pooled_boundary) + 1
    if p.min_area_px > 0:
        labels = _merge_small(labels, edge, p.min_area_px)
    return labels.astype(np.int32), edge
