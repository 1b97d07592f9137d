"""Crystalline vs disordered domains of an atomic-resolution micrograph from local lattice-fringe
strength, checked against the MD truth, and mapped onto the nanoscale (rho = 10) clusters.

Method
------
1. **Local FFT.** A Hann-windowed patch of ``window_A`` (default 12 Å: six or more fringes of
   the 1.3-2 Å lattice spacings, small enough to resolve a ~1 nm interface) is taken around
   centres every ``step_A``; its power spectrum |FFT|^2 is examined in the band of lattice
   spacings ``d_min_A``-``d_max_A`` (spatial frequency 1/d, capped at 0.9 x Nyquist).
2. **Fringe strength** = log10 of the mean of the ``n_peaks`` largest band powers, each divided
   by the median power of its own |k| annulus (one Fourier pixel wide). A crystal concentrates
   the power of an annulus in Bragg-like peaks (n_peaks = 4: the +-g pairs of the two strongest
   reflections), far above the annulus median (~2-2.4 in log10 for the MD slabs at the default
   settings); a liquid or amorphous region spreads it evenly around the annulus (its structure
   factor depends on |k| only, and the annulus median divides it out), so the normalised powers
   are ~exponential variates and the statistic is that of the largest of a few hundred of them
   (~1 in log10). Dividing by the median makes the measure independent of contrast, dose and
   the transfer function. The coarse map is interpolated back to the image grid (periodic for
   simulated cells).
3. **Threshold from the image itself**: Otsu on the strength map. Otsu splits any distribution in
   two, so the split is accepted only if the map is bimodal: the Otsu effectiveness
   eta = between-class / total variance exceeds ``min_separation`` (a single Gaussian gives
   2/pi = 0.64, two equal well-separated classes -> 1) *and* the two class means straddle the
   disorder reference: the 99th percentile of the strength of white-noise windows through the
   same pipeline (the isotropic-disorder null of step 2), plus ``null_margin``. Otherwise the
   image is one phase, crystalline if its median strength is above the reference.
4. **Cleanup** (scikit-image): crystalline and disordered regions smaller than
   ``min_region_A2`` are absorbed by their surroundings (remove_small_objects / remove_small_holes).
5. **Interfaces**: the crystalline fraction of each image column (z) crosses 1/2 at the
   crystal–disorder boundaries (linear interpolation); in a periodic slab the largest
   crystalline run starts at the lower interface and ends at the upper one (MD convention:
   solid between interface 0 and interface 1 going up in z).

Truth and accuracy: the MD per-atom ``solid`` labels are projected along the beam onto the image
grid (solid and total atom counts smoothed by a Gaussian of ``smooth_A`` = 2 Å); a pixel is
crystalline where the smoothed solid fraction is >= 1/2. Metrics: pixel accuracy, IoU of the
crystalline mask, and the error of each detected interface (Å, periodic) against
``interface_z_A``.

Clusters: the nanoscale clusters are rebuilt with msgnn.graphs.atomic (the same
``interface_clusters`` call as ``snapshot_graph``, so the order matches the
graph's ``cluster_x`` rows); each cluster's crystallinity is the mean, over its atoms, of the
crystalline mask (smoothed by ``atom_radius_A``) at the atom's projected (y, z) position. The beam
integrates along x, so clusters stacked along x see the same image region.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage as ndi

from msgnn.graphs.settings import GraphSettings


@dataclass
class SegmentationResult:
    strength: np.ndarray        # (H, W) float32 fringe strength (log10 peak / annulus-median power)
    mask: np.ndarray            # (H, W) bool crystalline
    threshold: float            # strength threshold used
    info: dict                  # how the threshold was chosen (otsu, separation, null reference)


def _as_pair(p) -> tuple[float, float]:
    p = np.atleast_1d(np.asarray(p, float))
    return (float(p[0]), float(p[-1]))


def _hann(w: int) -> np.ndarray:
    """2-D Hann window of w x w pixels (without the zero end points)."""
    h = np.hanning(w + 2)[1:-1]
    return np.outer(h, h)


def _band(w: int, pixel_A: tuple[float, float], d_min_A: float, d_max_A: float) -> list[np.ndarray]:
    """Flat indices of the w x w FFT grid in the band of spacings d_min-d_max, one array per
    annulus one Fourier pixel wide (|k| rounded in units of the coarser axis' frequency step)."""
    ky = np.fft.fftfreq(w, pixel_A[0])[:, None]
    kz = np.fft.fftfreq(w, pixel_A[1])[None, :]
    k = np.hypot(ky, kz)
    nyq = 0.5 / max(pixel_A)
    band = (k >= 1.0 / d_max_A) & (k <= min(1.0 / d_min_A, 0.9 * nyq))
    if band.sum() < 16:
        raise ValueError(f"the band {d_min_A}-{d_max_A} Å holds {int(band.sum())} frequencies of a {w}-px "
                         f"window at {pixel_A} Å/px: enlarge the window or the band")
    dk = 1.0 / (w * max(pixel_A))
    ring = np.round(k / dk).astype(int)
    return [np.flatnonzero(band & (ring == r)) for r in np.unique(ring[band])]


def _window_px(window_A: float, pixel_A: tuple[float, float]) -> int:
    return max(8, int(round(window_A / np.mean(pixel_A))))


def _patch_strength(patches: np.ndarray, hann: np.ndarray, rings: list[np.ndarray], n_peaks: int) -> np.ndarray:
    """Fringe strength of a stack of patches (..., w, w): log10 of the mean of the `n_peaks`
    largest band powers, each divided by the median power of its own |k| annulus."""
    p = patches - patches.mean(axis=(-2, -1), keepdims=True)
    power = np.abs(np.fft.fft2(p * hann)) ** 2
    flat = power.reshape(power.shape[:-2] + (-1,))
    norm = np.concatenate([flat[..., idx] / np.maximum(np.median(flat[..., idx], axis=-1, keepdims=True), 1e-300)
                           for idx in rings], axis=-1)
    top = np.partition(norm, norm.shape[-1] - n_peaks, axis=-1)[..., -n_peaks:].mean(axis=-1)
    return np.log10(np.maximum(top, 1e-300))


def fringe_strength(image: np.ndarray, pixel_size_A, *, window_A: float = 12.0, step_A: float = 1.0,
                    d_min_A: float = 1.0, d_max_A: float = 4.0, n_peaks: int = 4,
                    periodic: bool = True) -> np.ndarray:
    """Local lattice-fringe strength map (H, W) of `image` (see the module docstring).

    pixel_size_A: one value or (row, column) pixel sizes in Å. periodic: the image is one period
    of a periodic cell (simulated), so windows wrap around; otherwise edges are mirrored.
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2 or min(img.shape) < 2:
        raise ValueError(f"expected a 2-D image, got shape {img.shape}")
    pix = _as_pair(pixel_size_A)
    w = _window_px(window_A, pix)
    rings = _band(w, pix, d_min_A, d_max_A)
    hann = _hann(w)
    H, W = img.shape
    step = max(1, int(round(step_A / np.mean(pix))))
    nr, nc = max(1, int(np.ceil(H / step))), max(1, int(np.ceil(W / step)))
    rows = np.round(np.arange(nr) * H / nr).astype(int)
    cols = np.round(np.arange(nc) * W / nc).astype(int)
    pad = w // 2
    mode = "wrap" if periodic else "reflect"
    padded = np.pad(img, ((pad, w - pad), (pad, w - pad)), mode=mode)
    view = np.lib.stride_tricks.sliding_window_view(padded, (w, w))
    coarse = np.empty((nr, nc))
    chunk = max(1, int(2e7 // (nc * w * w)))
    for r0 in range(0, nr, chunk):
        rr = rows[r0:r0 + chunk]
        coarse[r0:r0 + len(rr)] = _patch_strength(view[rr[:, None], cols[None, :]], hann, rings, n_peaks)
    # back to the image grid: the coarse samples are equally spaced in units of H / nr, W / nc
    yy, xx = np.meshgrid(np.arange(H) * nr / H, np.arange(W) * nc / W, indexing="ij")
    return ndi.map_coordinates(coarse, [yy, xx], order=1, mode="grid-wrap" if periodic else "nearest"
                               ).astype(np.float32)


@lru_cache(maxsize=32)
def null_strength(window_px: int, pixel_A: tuple[float, float], d_min_A: float, d_max_A: float,
                  n_peaks: int, quantile: float = 0.99, samples: int = 400) -> float:
    """The `quantile` of the fringe strength of white-noise windows (no lattice at all), by Monte
    Carlo through the same window, band and statistic (fixed seed: a deterministic reference)."""
    rng = np.random.default_rng(12345)
    hann = _hann(window_px)
    rings = _band(window_px, pixel_A, d_min_A, d_max_A)
    s = _patch_strength(rng.standard_normal((samples, window_px, window_px)), hann, rings, n_peaks)
    return float(np.quantile(s, quantile))


def _otsu_effectiveness(values: np.ndarray, t: float) -> float:
    lo, hi = values[values <= t], values[values > t]
    total = values.var()
    if total <= 0 or lo.size == 0 or hi.size == 0:
        return 0.0
    w0, w1 = lo.size / values.size, hi.size / values.size
    return float(w0 * w1 * (lo.mean() - hi.mean()) ** 2 / total)


def crystalline_mask(strength: np.ndarray, pixel_size_A, *, window_A: float = 12.0, d_min_A: float = 1.0,
                     d_max_A: float = 4.0, n_peaks: int = 4, min_region_A2: float = 30.0,
                     min_separation: float = 0.5, null_margin: float = 0.3) -> SegmentationResult:
    """Crystalline mask of a fringe-strength map: Otsu threshold with a bimodality check against
    the white-noise reference, then small-region cleanup (module docstring, steps 3-4)."""
    from skimage import filters, morphology
    s = np.asarray(strength, dtype=np.float64)
    pix = _as_pair(pixel_size_A)
    key_pix = tuple(round(p, 3) for p in pix)    # cache key: the null hardly depends on 0.001 Å
    ref = null_strength(_window_px(window_A, pix), key_pix, d_min_A, d_max_A, n_peaks) + null_margin
    values = s.ravel()
    otsu = float(filters.threshold_otsu(values)) if np.ptp(values) > 0 else float(values[0])
    eta = _otsu_effectiveness(values, otsu)
    lo_mean = float(values[values <= otsu].mean()) if np.any(values <= otsu) else float("nan")
    hi_mean = float(values[values > otsu].mean()) if np.any(values > otsu) else float("nan")
    two_phase = eta >= min_separation and lo_mean < ref < hi_mean
    median = float(np.median(values))
    if two_phase:
        threshold, decision = otsu, "otsu"
    else:
        # one phase: everything on the side of the reference the bulk of the map lies on
        threshold = float(values.min()) - 1.0 if median > ref else float(values.max()) + 1.0
        decision = "single phase: crystalline" if median > ref else "single phase: disordered"
    mask = s > threshold
    min_px = max(1, int(round(min_region_A2 / (pix[0] * pix[1]))))
    if two_phase:
        mask = morphology.remove_small_objects(mask, max_size=min_px)
        mask = morphology.remove_small_holes(mask, max_size=min_px)
    info = {"decision": decision, "otsu_threshold": otsu, "otsu_effectiveness": eta,
            "class_means": [lo_mean, hi_mean], "median_strength": median,
            "disorder_reference": ref, "min_separation": min_separation, "null_margin": null_margin,
            "min_region_px": min_px, "crystalline_fraction": float(mask.mean())}
    return SegmentationResult(s.astype(np.float32), mask, float(threshold), info)


def segment_fringes(image: np.ndarray, pixel_size_A, *, window_A: float = 12.0, step_A: float = 1.0,
                    d_min_A: float = 1.0, d_max_A: float = 4.0, n_peaks: int = 4,
                    min_region_A2: float = 30.0, periodic: bool = True, **mask_kwargs) -> SegmentationResult:
    """fringe_strength + crystalline_mask with one set of parameters."""
    s = fringe_strength(image, pixel_size_A, window_A=window_A, step_A=step_A, d_min_A=d_min_A,
                        d_max_A=d_max_A, n_peaks=n_peaks, periodic=periodic)
    return crystalline_mask(s, pixel_size_A, window_A=window_A, d_min_A=d_min_A, d_max_A=d_max_A,
                            n_peaks=n_peaks, min_region_A2=min_region_A2, **mask_kwargs)


# ----------------------------------------------------------------------------- interfaces

def _crossings(profile: np.ndarray, pixel_A: float, level: float = 0.5):
    """Periodic up- and down-crossings of `level` (positions in Å, pixel i at i * pixel_A)."""
    p = np.asarray(profile, float)
    n = p.size
    nxt = np.roll(p, -1)
    up, down = [], []
    for i in range(n):
        a, b = p[i], nxt[i]
        if (a < level) != (b < level):
            z = (i + (level - a) / (b - a)) * pixel_A
            (up if b >= level else down).append(z % (n * pixel_A))
    return up, down


def interface_positions(mask: np.ndarray, pixel_z_A: float) -> tuple[float, float] | None:
    """(lower, upper) crystal–disorder interfaces along z (columns) of a periodic image, Å.

    The crystalline fraction of each column is thresholded at 1/2; the largest crystalline run
    (periodic) gives the interfaces: lower = where it starts, upper = where it ends. None when
    the image has no such boundary (all crystalline or all disordered)."""
    frac = np.asarray(mask, float).mean(axis=0)
    up, down = _crossings(frac, pixel_z_A)
    if not up or not down:
        return None
    L = frac.size * pixel_z_A
    best = None
    for u in up:   # the run starting at u ends at the first down-crossing after it (periodic)
        d = min(down, key=lambda z: (z - u) % L)
        length = (d - u) % L
        if best is None or length > best[2]:
            best = (u, d, length)
    return best[0], best[1]


def periodic_error(a: float, b: float, period: float) -> float:
    """Signed a - b on a ring of circumference `period`."""
    return float((a - b + 0.5 * period) % period - 0.5 * period)


# ----------------------------------------------------------------------------- MD truth

def truth_mask(positions_A: np.ndarray, solid: np.ndarray, cell_A, shape: tuple[int, int], pixel_size_A,
               smooth_A: float = 2.0) -> np.ndarray:
    """MD solid labels projected along x onto the (y, z) image grid: solid fraction of the
    Gaussian-smoothed (periodic) atom counts >= 1/2. positions in box coordinates."""
    pos = np.asarray(positions_A, float)
    L = np.asarray(cell_A, float)
    L = np.diag(L) if L.ndim == 2 else L
    H, W = shape
    py, pz = _as_pair(pixel_size_A)
    iy = np.floor((pos[:, 1] % L[1]) / py + 0.5).astype(int) % H
    iz = np.floor((pos[:, 2] % L[2]) / pz + 0.5).astype(int) % W
    flat = iy * W + iz
    all_n = np.bincount(flat, minlength=H * W).reshape(H, W).astype(float)
    sol_n = np.bincount(flat, weights=np.asarray(solid, float), minlength=H * W).reshape(H, W)
    sig = (smooth_A / py, smooth_A / pz)
    all_s = ndi.gaussian_filter(all_n, sig, mode="wrap")
    sol_s = ndi.gaussian_filter(sol_n, sig, mode="wrap")
    return sol_s >= 0.5 * np.maximum(all_s, 1e-12)


def segmentation_metrics(mask: np.ndarray, truth: np.ndarray, pixel_z_A: float, md_interface_z_A,
                         solid_fraction: float, single_phase_margin: float = 0.02) -> dict:
    """Pixel accuracy, crystalline IoU, detected interfaces and their errors vs the MD ones (Å).

    When the MD slab is one phase (solid fraction within `single_phase_margin` of 0 or 1) the
    MD interface positions are not defined, and the interface errors are None."""
    mask = np.asarray(mask, bool)
    truth = np.asarray(truth, bool)
    inter = np.logical_and(mask, truth).sum()
    union = np.logical_or(mask, truth).sum()
    L = mask.shape[1] * pixel_z_A
    det = interface_positions(mask, pixel_z_A)
    md_two_phase = single_phase_margin < solid_fraction < 1 - single_phase_margin
    md = [float(v) % L for v in md_interface_z_A]
    errors = None
    if det is not None and md_two_phase:
        errors = [periodic_error(det[0], md[0], L), periodic_error(det[1], md[1], L)]
    return {
        "pixel_accuracy": float((mask == truth).mean()),
        "crystalline_iou": float(inter / union) if union else 1.0,
        "crystalline_fraction_detected": float(mask.mean()),
        "crystalline_fraction_truth": float(truth.mean()),
        "md_solid_fraction": float(solid_fraction),
        "detected_interfaces_z_A": None if det is None else [float(det[0]), float(det[1])],
        "md_interfaces_z_A": md if md_two_phase else None,
        "interface_errors_A": errors,
        "interface_mean_abs_error_A": None if errors is None else float(np.mean(np.abs(errors))),
        "both_phases_detected": det is not None,
        "both_phases_in_md": bool(md_two_phase),
    }


# ----------------------------------------------------------------------------- clusters

def cluster_assignment(positions_A, cell_A, interface_z_A, graphs: GraphSettings,
                       origin_A=None) -> tuple[np.ndarray, np.ndarray, int]:
    """(selected atom indices, their cluster index, number of clusters): the nanoscale clusters of
    msgnn.graphs.atomic.snapshot_graph, by the same function calls on the same coordinates."""
    from msgnn.graphs.atomic import interface_clusters
    c = interface_clusters(positions_A, cell_A, interface_z_A, graphs, origin_A)
    return c.atom_index, c.atom_cluster, c.n_clusters


def sample_at_atoms(field: np.ndarray, positions_A: np.ndarray, cell_A, pixel_size_A,
                    smooth_A: float = 1.0) -> np.ndarray:
    """`field` on the (y, z) image grid, Gaussian-smoothed by `smooth_A` (periodic), sampled at the
    atoms' projected positions (bilinear); pixel i sits at i x pixel size."""
    L = np.asarray(cell_A, float)
    L = np.diag(L) if L.ndim == 2 else L
    py, pz = _as_pair(pixel_size_A)
    f = np.asarray(field, float)
    if smooth_A > 0:
        f = ndi.gaussian_filter(f, (smooth_A / py, smooth_A / pz), mode="wrap")
    pos = np.asarray(positions_A, float)
    coords = [(pos[:, 1] % L[1]) / py, (pos[:, 2] % L[2]) / pz]
    return ndi.map_coordinates(f, coords, order=1, mode="grid-wrap")


def cluster_crystallinity(positions_A, cell_A, interface_z_A, mask: np.ndarray, pixel_size_A, *,
                          graphs: GraphSettings, origin_A=None,
                          strength: np.ndarray | None = None, atom_radius_A: float = 1.0) -> dict:
    """Per nanoscale cluster (graph order): mean crystalline-mask value under its atoms
    ("crystallinity", in [0, 1]) and, given `strength`, the mean fringe strength; also the
    selected atoms ("atom_index", as the graph's atom_index) and their cluster ("atom_cluster")."""
    sel, atom_cluster, n = cluster_assignment(positions_A, cell_A, interface_z_A, graphs, origin_A)
    pos = np.asarray(positions_A, float)[sel]
    if origin_A is not None:
        pos = pos - np.asarray(origin_A, float)[None, :]
    counts = np.bincount(atom_cluster, minlength=n).astype(float)

    def per_cluster(field):
        v = sample_at_atoms(field, pos, cell_A, pixel_size_A, atom_radius_A) if sel.size else np.zeros(0)
        return np.bincount(atom_cluster, weights=v, minlength=n) / np.maximum(counts, 1)

    out = {"crystallinity": per_cluster(np.asarray(mask, float)), "n_atoms": counts, "n_clusters": n,
           "atom_index": sel, "atom_cluster": atom_cluster}
    if strength is not None:
        out["fringe_strength"] = per_cluster(strength)
    return out
