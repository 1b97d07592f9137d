"""Facet growth rates from an in-situ time series of micrographs.

Method (bright-field series of a film crystallizing from an amorphous / melt matrix):

1. Flat-field every frame by the smoothed reference frame, recorded before nucleation (pure
   matrix: its smoothed image *is* the illumination), then smooth it (Gaussian, sigma chosen
   from the reference frame's noise).
2. Crystal vs matrix: crystals are darker than the matrix (intensity lost to diffracted beams).
   The smoothed reference frame gives the matrix level and its spread; a pixel is crystal when
   it is darker than the matrix by more than `z` spreads, at most `max_drop` (crystal brightness depends on
   orientation and is not one level, so a two-class split such as Otsu would cut the crystals in
   two). Then small specks and holes are removed.
3. Each facet is a grain of the segmented final frame. Between consecutive frames k, k+1 its
   free front is the set of its crystal pixels at k+1 that touch matrix; the distance of each
   front pixel from the facet's crystal at k (a Euclidean distance transform) is how far the
   front advanced. The interquartile mean advance / (t_k+1 - t_k) is the facet's normal growth
   rate over that interval; a facet's rate is the median over the intervals in which it had a front.

Fronts that meet another grain stop, so only free fronts count: in Johnson–Mehl growth every
free front moves at G, which is what `accuracy_study` checks.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi, stats
from skimage import morphology


#: a facet needs this many crystal pixels at frame k and front pixels at k+1 for a measurement
MIN_PIXELS = 12
MIN_FRONT = 6
#: candidate Gaussian smoothing of the frames before crystal/matrix classification (px)
SMOOTH_PX = (1.0, 1.5, 2.0)


def crystal_masks(frames: np.ndarray, reference: np.ndarray, *, flat_sigma_px: float = 8.0,
                  z: float = 4.0, max_drop: float = 0.07, min_area_px: int = 12) -> tuple[np.ndarray, dict]:
    """Crystal (True) vs matrix masks of `frames` (n, H, W), and the threshold (in units of the
    flat-fielded matrix level) with the smoothing used.

    The threshold lies `z` spreads of the smoothed reference below the matrix level, but never
    more than `max_drop` below it: the faintest crystals are ~15 % darker than the matrix. The
    smoothing is the smallest Gaussian sigma of SMOOTH_PX at which `z` spreads fit within
    `max_drop` (the largest if none does), so a noisier series is smoothed more."""
    reference = np.asarray(reference, float)
    flat = ndi.gaussian_filter(reference, flat_sigma_px, mode="reflect")
    flat = np.maximum(flat, 1e-3 * max(float(flat.max()), 1e-12))
    for smooth in SMOOTH_PX:
        ref = ndi.gaussian_filter(reference / flat, smooth, mode="reflect")
        level = float(np.median(ref))
        spread = float(stats.median_abs_deviation(ref, axis=None, scale="normal"))
        if z * spread <= max_drop:
            break
    thr = level - min(z * spread, max_drop)
    masks = np.stack([ndi.gaussian_filter(f / flat, smooth, mode="reflect") < thr
                      for f in np.asarray(frames, float)])
    info = {"threshold": thr, "matrix_level": level, "matrix_spread": spread, "smooth_px": smooth}
    for k in range(len(masks)):
        m = morphology.remove_small_objects(masks[k], max_size=min_area_px - 1)
        masks[k] = morphology.remove_small_holes(m, max_size=min_area_px - 1)
    return masks, info


def facet_growth_rates(masks: np.ndarray, times_s, facets: np.ndarray, pixel_size_m: float) -> dict:
    """Normal growth rate of each facet (labels 1..n of `facets`) from crystal `masks` (n, H, W)
    at `times_s`. Returns per-facet rates (m/s, NaN where a facet never had a measurable free
    front), the number of intervals each used, and every interval measurement."""
    times = np.asarray(times_s, float)
    n = int(facets.max())
    per = [[] for _ in range(n + 1)]
    intervals = []
    boxes = ndi.find_objects(facets)    # a facet's crystal lies inside its final grain: work in its box
    for k in range(len(masks) - 1):
        dt = times[k + 1] - times[k]
        if dt <= 0:
            raise ValueError(f"frame times must increase, got {times[k]} then {times[k + 1]}")
        matrix_near = ndi.binary_dilation(~masks[k + 1])
        before = np.where(masks[k], facets, 0)
        after = np.where(masks[k + 1], facets, 0)
        for j in np.unique(after[after > 0]):
            box = boxes[j - 1]
            old = before[box] == j
            if old.sum() < MIN_PIXELS:
                continue
            front = (after[box] == j) & matrix_near[box] & ~old
            if front.sum() < MIN_FRONT:
                continue
            advance = ndi.distance_transform_edt(~old)[front]
            # interquartile mean: robust to stray front pixels like the median, but not locked to
            # the few distinct values a distance on the pixel grid takes
            rate = float(stats.trim_mean(advance, 0.25)) * pixel_size_m / dt
            per[j].append(rate)
            intervals.append({"facet": int(j), "frame": k, "rate_m_per_s": rate, "front_px": int(front.sum())})
    rates = np.array([np.median(r) if r else np.nan for r in per[1:]])
    return {"rate_m_per_s": rates, "n_intervals": np.array([len(r) for r in per[1:]]), "intervals": intervals}


def summarize(rates: np.ndarray) -> dict:
    """Median and quartiles of the measured facet growth rates (NaNs skipped)."""
    r = np.asarray(rates, float)
    r = r[np.isfinite(r)]
    if not r.size:
        return {"median_m_per_s": None, "q25_m_per_s": None, "q75_m_per_s": None, "n_facets": 0}
    q25, med, q75 = np.percentile(r, [25, 50, 75])
    return {"median_m_per_s": float(med), "q25_m_per_s": float(q25), "q75_m_per_s": float(q75),
            "n_facets": int(r.size)}
