"""Atomic-resolution HRTEM and HAADF-STEM micrographs of MD crystal–liquid slabs (abTEM), labelled
synthetic, and their lattice-fringe segmentation into crystalline and disordered domains.

Geometry. The MD slab is periodic with the interface normal along z. The beam runs along the MD
x axis, so the image plane is (y, z): the crystal, the liquid and both interfaces are in view.
abTEM propagates along its own z, so MD (x, y, z) -> abTEM (z, x, y), a cyclic (proper) rotation.
Image arrays are indexed ``[row, column] = [y, z]`` (the long z axis runs across the page). The
MD cell is repeated along the beam to a realistic specimen thickness (``thickness_A``); a liquid
repeated that way projects the same atom positions several times, which is the projection of a
thicker liquid with the same structure, not an artefact of the image formation.

Thermal vibrations. An MD snapshot at 0.8-1 Tm *is* one frozen-phonon configuration (every atom
sits at its thermally displaced position), so no extra frozen-phonon averaging is done: one
configuration per image. (The repeats along the beam share that configuration; thermal diffuse
scattering in HAADF is therefore slightly under-averaged.)

Default settings and why. One image costs ~1 s (HRTEM) and 25-75 s (HAADF, PRISM) on one core of
the 2-core development machine for the 1536-atom Al, Cu and Si slabs, and a condition (4 HRTEM
images, 1 HAADF, segmentation, figure) 36-63 s with a peak of 1.6 GB
(``benchmarks/microscopy_hrtem.py`` measures the time per image):

* 300 kV, Lobato potential parametrisation, infinite projection integrals, 2 Å slices (about
  one (200) atomic plane of the (100) slabs along the beam).
* HRTEM: plane wave, multislice on a 0.05 Å grid (its 2/3 antialiasing limit, 131 mrad, is
  far beyond the objective aperture), aberration-corrected objective with negative spherical
  aberration imaging (Cs = -15 µm at the generalised Scherzer defocus, atoms bright), 25 mrad
  objective aperture (passes the 1.3-2 Å lattice fringes of Al, Cu and Si along [100]), partial
  temporal coherence as the quasi-coherent focal-spread envelope (20 Å, 1/e width, ~ Cc 1.2 mm
  and 0.6 eV energy spread). The image is Fourier-resampled to a 0.1 Å camera pixel and
  Poisson noise for 2 x 10^4 e/Å^2 is added.
* HAADF-STEM: PRISM (abtem.SMatrix) on a 0.05 Å grid, 20 mrad probe (aberration-free: a
  corrected probe, d ~ 0.6 Å), annular detector 70-130 mrad (the outer angle is capped by the
  grid's antialiasing limit; 200 mrad would need a 0.033 Å grid, 2.3x the cost), PRISM
  interpolation chosen so the probe window is ~6 Å in each direction (the cost falls with the
  square of the window area; on a 12 x 28 Å Al slab the noise-free image agrees with a 14 Å
  window's to 3.6 % in mean signal, pixel correlation 0.994, far inside the shot noise at the
  default dose), 0.4 Å scan step (>= 3.4 px per lattice fringe for Si 1.36 Å) and Poisson noise for
  10^5 e/Å^2 (100 pA and 25 µs dwell at 0.4 Å steps). The specimen for HAADF
  is one MD cell thick by default (``haadf.thickness_A``): PRISM's cost is proportional to
  the number of slices.
* FFTs by FFTW (pyfftw, abTEM's default) with ESTIMATE planning (MEASURE planning costs more
  than it saves for the few transforms of one job), in float32; the S-matrix is downsampled to
  the antialiasing cutoff after the multislice (nothing lies beyond it) and dask works in 32 MB
  chunks, which halves PRISM's peak memory (~1.5 GB for the Si slab) at no cost in time; dask
  on the synchronous scheduler (threads = 1) or the threaded one with a bounded number of
  workers.

Every image is returned as float32 with its pixel size in metres and a metadata dict holding
all settings, the abTEM version and ``"synthetic": True``.
"""
from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from msgnn.errors import InputFileError
from msgnn.graphs.settings import GraphSettings
from msgnn.microscopy.settings import MicrographSettings
from msgnn.progress import progress

log = logging.getLogger(__name__)

def wavelength_A(energy_keV: float) -> float:
    """Relativistic electron wavelength (Å)."""
    from abtem.core.energy import energy2wavelength
    return float(energy2wavelength(energy_keV * 1e3))


def antialias_limit_mrad(sampling_A: float, energy_keV: float) -> float:
    """Largest scattering angle a grid of `sampling_A` represents after abTEM's 2/3 antialiasing."""
    import abtem
    cutoff = float(abtem.config.get("antialias.cutoff"))
    return cutoff * wavelength_A(energy_keV) / (2 * sampling_A) * 1e3


# ----------------------------------------------------------------------------- input

class Frame(NamedTuple):
    """One snapshot in box coordinates (origin subtracted, wrapped into the cell)."""
    positions_A: np.ndarray     # (N, 3)
    cell_A: np.ndarray          # (3,) box lengths
    solid: np.ndarray           # (N,) bool
    interface_z_A: np.ndarray   # (2,) lower and upper interface, box coordinates in [0, Lz)
    element: str
    time_ps: float | None


def frame(snapshots: dict, index: int = -1) -> Frame:
    """Frame `index` of loaded snapshots, in box coordinates (as msgnn.graphs.atomic uses them)."""
    origin = snapshots["origin_A"][index] if "origin_A" in snapshots else np.zeros(3)
    L = np.diag(snapshots["cell_A"][index]).astype(float)
    pos = (snapshots["positions_A"][index] - origin[None, :]) % L[None, :]
    zi = (np.asarray(snapshots["interface_z_A"][index], float) - origin[2]) % L[2]
    t = float(snapshots["time_ps"][index]) if "time_ps" in snapshots else None
    return Frame(pos, L, np.asarray(snapshots["solid"][index], bool), zi, snapshots["element"], t)


def snapshot_atoms(fr: Frame, thickness_A: float | None = None):
    """ase.Atoms of a frame with the beam along MD x: abTEM (x, y, z) = MD (y, z, x), the cell
    repeated along the beam to at least ~`thickness_A` (None: one cell)."""
    from ase import Atoms
    p = fr.positions_A
    atoms = Atoms(f"{fr.element}{len(p)}", positions=np.column_stack([p[:, 1], p[:, 2], p[:, 0]]),
                  cell=[fr.cell_A[1], fr.cell_A[2], fr.cell_A[0]], pbc=True)
    reps = 1 if not thickness_A else max(1, int(round(thickness_A / fr.cell_A[0])))
    return atoms.repeat((1, 1, reps)) if reps > 1 else atoms


# ----------------------------------------------------------------------------- simulation

class SimulatedImage(NamedTuple):
    image: np.ndarray       # float32 (rows = MD y, columns = MD z)
    pixel_size_m: float     # mean of the (y, z) pixel sizes; they differ by < 0.5 %
    metadata: dict


def _smooth_size(n: int, multiple: int = 1) -> int:
    """Smallest m >= n with m a multiple of `multiple` and m / multiple 2,3,5-smooth (fast FFTs)."""
    k = max(1, math.ceil(n / multiple))
    while True:
        r = k
        for p in (2, 3, 5):
            while r % p == 0:
                r //= p
        if r == 1:
            return k * multiple
        k += 1


@contextlib.contextmanager
def _compute_context(threads: int):
    """abTEM and dask settings for one job: FFTW with ESTIMATE planning, no progress bar, float32,
    32 MB dask chunks, dask synchronous (1 thread) or threaded with `threads` workers, BLAS limited
    to `threads`."""
    import abtem
    import dask
    from threadpoolctl import threadpool_limits
    threads = max(1, int(threads))
    fft = "fftw" if importlib.util.find_spec("pyfftw") else "numpy"
    cfg = {"fft": fft, "fftw.threads": 1, "fftw.planning_effort": "FFTW_ESTIMATE",
           "diagnostics.progress_bar": False, "precision": "float32", "device": "cpu",
           "dask.chunk-size": "32 MB"}   # smaller than abTEM's 128 MB: PRISM peaks at ~1.5 GB, not 3 GB
    sched = {"scheduler": "synchronous"} if threads == 1 else {"scheduler": "threads", "num_workers": threads}
    with abtem.config.set(cfg), dask.config.set(**sched), threadpool_limits(threads):
        yield


def _versions() -> dict:
    import abtem
    import ase
    return {"abtem": abtem.__version__, "ase": ase.__version__}


def _potential(atoms, sampling_A: float, slice_thickness_A: float, parametrization: str, multiple=(1, 1)):
    import abtem
    L = np.diag(atoms.cell)[:2]
    gpts = tuple(_smooth_size(int(math.ceil(L[i] / sampling_A)), multiple[i]) for i in range(2))
    return abtem.Potential(atoms, gpts=gpts, slice_thickness=slice_thickness_A, projection="infinite",
                           parametrization=parametrization)


def _dose_noise(measurement, dose: float | None, seed: int) -> np.ndarray:
    """Poisson (shot) noise for `dose` e/Å^2, back in the measurement's units (counts divided by
    the expected electrons per pixel); the clean array when `dose` is 0/None."""
    clean = np.asarray(measurement.array, dtype=np.float64)
    if not dose:
        return clean
    per_pixel = float(dose) * float(np.prod(measurement.sampling))
    counts = measurement.poisson_noise(dose_per_area=float(dose), seed=int(seed)).compute()
    return np.asarray(counts.array, dtype=np.float64) / per_pixel


def simulate_hrtem(fr: Frame, settings: MicrographSettings, seed: int = 0) -> SimulatedImage:
    """Plane-wave HRTEM image of a frame (see the module docstring for the optics).

    The image is the intensity (bright field = 1 without specimen) with Poisson noise for the dose,
    in units of the mean vacuum intensity, resampled to ``hrtem.pixel_size_A``.
    """
    import abtem
    s = settings
    o = s.hrtem
    atoms = snapshot_atoms(fr, s.thickness_A)
    t0 = time.perf_counter()
    with _compute_context(s.threads):
        pot = _potential(atoms, o.sampling_A, o.slice_thickness_A, s.parametrization)
        wave = abtem.PlaneWave(energy=s.energy_keV * 1e3)
        ctf = abtem.CTF(energy=s.energy_keV * 1e3, Cs=o.Cs_um * 1e4, semiangle_cutoff=o.objective_aperture_mrad,
                        focal_spread=o.focal_spread_A)
        ctf.defocus = ctf.scherzer_defocus if isinstance(o.defocus_A, str) else float(o.defocus_A)
        images = wave.multislice(pot).apply_ctf(ctf).intensity()
        L = np.diag(atoms.cell)[:2]
        gpts = tuple(max(2, int(round(L[i] / o.pixel_size_A))) for i in range(2))
        images = images.interpolate(gpts=gpts)
        clean = images.compute()
        img = _dose_noise(clean, o.dose_e_per_A2, seed).astype(np.float32)
    seconds = time.perf_counter() - t0
    sampling = tuple(float(v) for v in clean.sampling)
    meta = {
        "synthetic": True, "modality": "HRTEM", "algorithm": "multislice (plane wave)", **_versions(),
        **_specimen_meta(s, o, atoms, fr, pot),
        "Cs_A": float(ctf.Cs), "defocus_A": float(ctf.defocus), "objective_aperture_mrad": o.objective_aperture_mrad,
        "focal_spread_A": o.focal_spread_A, "dose_e_per_A2": o.dose_e_per_A2, "noise_seed": int(seed),
        "pixel_size_yz_A": list(sampling), "image_shape": list(img.shape), "intensity_unit": "vacuum = 1",
        "seconds": seconds,
    }
    return SimulatedImage(img, float(np.mean(sampling)) * 1e-10, meta)


def _specimen_meta(s, o, atoms, fr, pot) -> dict:
    """The metadata both modalities share: beam, specimen and potential."""
    return {
        "energy_keV": s.energy_keV, "parametrization": s.parametrization, "projection": "infinite",
        "thickness_A": float(atoms.cell[2, 2]), "repeats_along_beam": int(round(atoms.cell[2, 2] / fr.cell_A[0])),
        "beam_direction": "MD x", "image_axes": ["MD y (rows)", "MD z (columns)"],
        "n_atoms": len(atoms), "element": fr.element, "frozen_phonons": "the MD snapshot (1 configuration)",
        "potential_gpts": list(pot.gpts), "potential_sampling_A": [float(v) for v in pot.sampling],
        "num_slices": int(pot.num_slices), "slice_thickness_A": o.slice_thickness_A,
    }


def prism_interpolation(extent_A, window_A: float) -> tuple[int, int]:
    """PRISM interpolation factors so that the probe window (extent / factor) is ~`window_A`:
    the 2,3,5-smooth integer nearest extent / window (so the grid stays FFT-friendly)."""
    smooth = [n for n in range(1, 257) if _smooth_size(n) == n]
    return tuple(min(smooth, key=lambda n: (abs(n - L / window_A), n)) if L > window_A else 1
                 for L in extent_A)


def simulate_haadf(fr: Frame, settings: MicrographSettings, seed: int = 0) -> SimulatedImage:
    """HAADF-STEM image of a frame by PRISM (abtem.SMatrix) with an annular detector.

    The signal is the fraction of the incident probe intensity reaching the detector, with
    Poisson noise for the dose (electrons per scan pixel = dose x step^2).
    """
    import abtem
    s = settings
    s.check_detector()
    o = s.haadf
    atoms = snapshot_atoms(fr, o.thickness_A)
    L = np.diag(atoms.cell)[:2]
    interp = prism_interpolation(L, o.prism_window_A)
    t0 = time.perf_counter()
    with _compute_context(s.threads):
        pot = _potential(atoms, o.sampling_A, o.slice_thickness_A, s.parametrization, multiple=interp)
        smatrix = abtem.SMatrix(potential=pot, energy=s.energy_keV * 1e3, semiangle_cutoff=o.probe_semiangle_mrad,
                                interpolation=interp, downsample="cutoff")
        ctf = abtem.CTF(energy=s.energy_keV * 1e3, semiangle_cutoff=o.probe_semiangle_mrad,
                        Cs=o.probe_Cs_um * 1e4, defocus=o.probe_defocus_A)
        scan = abtem.GridScan(start=(0.0, 0.0), end=tuple(float(v) for v in L), sampling=o.scan_step_A)
        detector = abtem.AnnularDetector(inner=o.detector_inner_mrad, outer=o.detector_outer_mrad)
        clean = smatrix.scan(scan=scan, detectors=detector, ctf=ctf).compute()
        img = _dose_noise(clean, o.dose_e_per_A2, seed).astype(np.float32)
    seconds = time.perf_counter() - t0
    sampling = tuple(float(v) for v in clean.sampling)
    meta = {
        "synthetic": True, "modality": "HAADF-STEM", "algorithm": "PRISM (abtem.SMatrix)", **_versions(),
        **_specimen_meta(s, o, atoms, fr, pot),
        "prism_interpolation": list(interp), "prism_plane_waves": int(len(smatrix)),
        "probe_semiangle_mrad": o.probe_semiangle_mrad, "probe_Cs_A": o.probe_Cs_um * 1e4,
        "probe_defocus_A": o.probe_defocus_A, "detector_mrad": [o.detector_inner_mrad, o.detector_outer_mrad],
        "antialias_limit_mrad": antialias_limit_mrad(float(np.max(pot.sampling)), s.energy_keV),
        "scan_step_yz_A": list(sampling), "dose_e_per_A2": o.dose_e_per_A2, "noise_seed": int(seed),
        "image_shape": list(img.shape), "intensity_unit": "fraction of the incident probe",
        "seconds": seconds,
    }
    return SimulatedImage(img, float(np.mean(sampling)) * 1e-10, meta)


# ----------------------------------------------------------------------------- per condition

#: file names written by process_hrtem_condition into its output folder
OUTPUT_FILES = {"hrtem": "hrtem.tif", "haadf": "haadf.tif", "mask": "hrtem_crystalline.tif",
                "measurements": "measurements.json", "clusters": "cluster_crystallinity.pt",
                "figure": "hrtem.png"}
#: metadata keys that record how long something ran, not what it computed: kept out of the
#: results (they must be byte-identical between two runs) and written to the timing file
TIMING_KEYS = ("seconds",)
CLUSTER_FEATURES = ["hrtem_crystallinity", "hrtem_fringe_strength"]


def analyse_image(sim: SimulatedImage, fr: Frame, settings: MicrographSettings) -> dict:
    """Fringe segmentation of a simulated image, its accuracy against the MD labels."""
    from msgnn.microscopy import fringes
    f = settings.fringes
    yz = sim.metadata.get("pixel_size_yz_A") or sim.metadata["scan_step_yz_A"]
    t0 = time.perf_counter()
    seg = fringes.segment_fringes(sim.image, yz, window_A=f.window_A, step_A=f.step_A, d_min_A=f.d_min_A,
                                  d_max_A=f.d_max_A, n_peaks=int(f.n_peaks), min_region_A2=f.min_region_A2,
                                  periodic=True)
    seconds = time.perf_counter() - t0
    truth = fringes.truth_mask(fr.positions_A, fr.solid, fr.cell_A, sim.image.shape, yz)
    metrics = fringes.segmentation_metrics(seg.mask, truth, yz[1], fr.interface_z_A, float(fr.solid.mean()))
    return {"segmentation": seg, "truth": truth, "pixel_yz_A": yz, "accuracy": metrics,
            "segmentation_seconds": seconds}


def _cluster_features(snap: dict, k: int, analysis: dict, graphs: GraphSettings):
    import torch
    from msgnn.microscopy import fringes
    seg = analysis["segmentation"]
    c = fringes.cluster_crystallinity(
        snap["positions_A"][k], snap["cell_A"][k], snap["interface_z_A"][k], seg.mask, analysis["pixel_yz_A"],
        graphs=graphs,
        origin_A=snap["origin_A"][k] if "origin_A" in snap else None, strength=seg.strength)
    x = np.column_stack([c["crystallinity"], c["fringe_strength"]])
    return torch.from_numpy(x.astype(np.float32)), c


def hrtem_figure(path, hrtem: SimulatedImage, haadf: SimulatedImage, analysis: dict, fr: Frame,
                 cluster_values: np.ndarray, cluster_atoms: np.ndarray, n_clusters: int, title: str) -> None:
    """HRTEM, HAADF, the fringe-strength map with detected (solid) and MD (dashed) interfaces, and the
    interface atoms of the nanoscale clusters coloured by their image crystallinity."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from msgnn.io import save_figure
    Ly, Lz = fr.cell_A[1], fr.cell_A[2]
    ext = [0, Lz, Ly, 0]
    fig, axes = plt.subplots(4, 1, figsize=(12, 1.6 + 4 * max(1.2, 12 * Ly / Lz)), sharex=True)
    im0 = axes[0].imshow(hrtem.image, cmap="gray", extent=ext, aspect="equal")
    fig.colorbar(im0, ax=axes[0], fraction=0.02, pad=0.01, label="intensity (vacuum = 1)")
    m = hrtem.metadata
    axes[0].set_title(f"HRTEM (synthetic, abTEM {m['abtem']}): {m['energy_keV']:.0f} kV, Cs {m['Cs_A'] / 1e4:.0f} µm, "
                      f"Δf {m['defocus_A']:.0f} Å, {m['objective_aperture_mrad']:.0f} mrad, "
                      f"{m['dose_e_per_A2']:.0e} e/Å², t = {m['thickness_A']:.0f} Å", fontsize=9)
    im1 = axes[1].imshow(haadf.image, cmap="gray", extent=ext, aspect="equal", interpolation="nearest")
    fig.colorbar(im1, ax=axes[1], fraction=0.02, pad=0.01, label="fraction of probe")
    h = haadf.metadata
    axes[1].set_title(f"HAADF-STEM (synthetic, PRISM): {h['probe_semiangle_mrad']:.0f} mrad probe, "
                      f"{h['detector_mrad'][0]:.0f}-{h['detector_mrad'][1]:.0f} mrad, step {h['scan_step_yz_A'][1]:.2f} Å, "
                      f"{h['dose_e_per_A2']:.0e} e/Å², t = {h['thickness_A']:.0f} Å", fontsize=9)
    seg, acc = analysis["segmentation"], analysis["accuracy"]
    im = axes[2].imshow(seg.strength, cmap="viridis", extent=ext, aspect="equal")
    axes[2].contour(np.linspace(0, Lz, seg.mask.shape[1]), np.linspace(0, Ly, seg.mask.shape[0]),
                    seg.mask.astype(float), levels=[0.5], colors="w", linewidths=0.6)
    for z in fr.interface_z_A if acc["both_phases_in_md"] else []:
        for ax in axes[:3]:
            ax.axvline(z, color="tab:red", ls="--", lw=1.2)
    for z in acc["detected_interfaces_z_A"] or []:
        axes[2].axvline(z, color="tab:orange", lw=1.5)
    fig.colorbar(im, ax=axes[2], fraction=0.02, pad=0.01, label="log10 fringe strength")
    err = acc["interface_errors_A"]
    axes[2].set_title(f"HRTEM fringe strength, crystalline mask (white); interfaces detected (orange) vs MD "
                      f"(red dashed); pixel accuracy {acc['pixel_accuracy']:.3f}, IoU {acc['crystalline_iou']:.3f}"
                      + (f", errors {err[0]:+.1f} / {err[1]:+.1f} Å" if err else ""), fontsize=9)
    axes[3].imshow(seg.mask, cmap="gray", vmin=-1, vmax=2, extent=ext, aspect="equal")
    sc = axes[3].scatter(fr.positions_A[cluster_atoms, 2], fr.positions_A[cluster_atoms, 1], c=cluster_values,
                         cmap="coolwarm_r", vmin=0, vmax=1, s=6, linewidths=0)
    fig.colorbar(sc, ax=axes[3], fraction=0.02, pad=0.01, label="cluster crystallinity")
    axes[3].set_title(f"nanoscale (ρ = 10) clusters ({n_clusters}): their atoms coloured by the cluster's HRTEM "
                      f"crystallinity, over the crystalline mask (light)", fontsize=9)
    axes[3].set_xlabel("z (Å)")
    for ax in axes:
        ax.set_ylabel("y (Å)")
        ax.set_xlim(0, Lz)
        ax.set_ylim(Ly, 0)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def process_hrtem_condition(snapshots_npz: str | Path, out_dir: str | Path, settings: MicrographSettings,
                            seed: int = 0, *, graphs: GraphSettings,
                            material: str | None = None, temperature_K: float | None = None,
                            timing_json: str | Path | None = None) -> dict:
    """Atomic-resolution micrographs of one MD condition and their segmentation.

    For the last snapshot: HRTEM and HAADF images, fringe segmentation of both, accuracy against the
    MD labels and interfaces. With ``all_frames`` (default) every snapshot also gets an HRTEM image
    (seconds each), so the per-cluster crystallinity exists for every graph of
    msgnn.graphs.atomic.build_atomic_graphs. Writes into `out_dir` (OUTPUT_FILES): hrtem.tif,
    haadf.tif (float32, pixel size in the resolution tags, JSON description with
    ``synthetic: true``), hrtem_crystalline.tif (uint8 mask), measurements.json,
    cluster_crystallinity.pt and hrtem.png, all byte-reproducible; the time per image (and per
    segmentation) goes to `timing_json` (default out_dir/timing.json), since run times differ
    between two runs. Returns the measurements dict with the times added under ``timing``.

    cluster_crystallinity.pt (save_torch of a dict): ``feature_names`` (CLUSTER_FEATURES),
    ``frames`` (snapshot indices = positions in the atomic-graph list), ``time_ps``,
    ``cluster_x`` (one float32 tensor (n_clusters, 2) per frame, rows in the graph's cluster
    order), ``haadf_frame`` and ``haadf_cluster_x`` (the same from the HAADF image of the last
    snapshot), ``synthetic`` True and the cluster parameters.
    """
    from ase.data import atomic_numbers

    from msgnn.io import plain, save_torch, write_json
    from msgnn.md.snapshots import read_snapshots
    from msgnn.microscopy.io import write_micrograph
    s = settings
    s.check_detector()               # before the HRTEM images, not after them
    snap = read_snapshots(snapshots_npz)
    if snap["element"] not in atomic_numbers:     # the specimen is built with ase
        raise InputFileError(snapshots_npz, f"element {snap['element']!r} is not a chemical symbol")
    out = Path(out_dir)
    n_frames = snap["positions_A"].shape[0]
    last = n_frames - 1
    frames = list(range(n_frames)) if s.all_frames else [last]
    label = " ".join(str(v) for v in (material, f"{temperature_K} K" if temperature_K is not None else None) if v)
    per_frame, times, cluster_x = [], [], []
    for k in progress(frames, f"{label or snapshots_npz}: HRTEM frames"):
        fr = frame(snap, k)
        sim = simulate_hrtem(fr, s, seed=seed + k)
        an = analyse_image(sim, fr, s)
        x, c = _cluster_features(snap, k, an, graphs)
        cluster_x.append(x)
        per_frame.append({"frame": k, "time_ps": fr.time_ps, "n_clusters": int(c["n_clusters"]),
                          "decision": an["segmentation"].info["decision"], **an["accuracy"]})
        times.append({"frame": k, "hrtem_s": sim.metadata["seconds"],
                      "segmentation_s": an["segmentation_seconds"]})
        log.info("%s frame %d: HRTEM %.1f s, pixel accuracy %.3f, interface errors %s", snapshots_npz, k,
                 sim.metadata["seconds"], an["accuracy"]["pixel_accuracy"], an["accuracy"]["interface_errors_A"])
    hr_last, an_last, c_last = sim, an, c     # `frames` ends with the last snapshot (fr is it)
    haadf = simulate_haadf(fr, s, seed=seed + 1000)
    an_haadf = analyse_image(haadf, fr, s)
    hx, hc = _cluster_features(snap, last, an_haadf, graphs)
    log.info("%s: HAADF %.1f s, pixel accuracy %.3f, interface errors %s", snapshots_npz, haadf.metadata["seconds"],
             an_haadf["accuracy"]["pixel_accuracy"], an_haadf["accuracy"]["interface_errors_A"])

    common = {"synthetic": True, "material": material, "temperature_K": temperature_K,
              "snapshots": str(snapshots_npz), "frame": last, "time_ps": fr.time_ps}
    hr_meta = {k: v for k, v in hr_last.metadata.items() if k not in TIMING_KEYS}
    hd_meta = {k: v for k, v in haadf.metadata.items() if k not in TIMING_KEYS}
    hr_px = hr_last.pixel_size_m
    write_micrograph(out / OUTPUT_FILES["hrtem"], hr_last.image, hr_px,
                     plain({**common, "description": "synthetic HRTEM image of an MD snapshot (abTEM)",
                            **hr_meta}))
    write_micrograph(out / OUTPUT_FILES["haadf"], haadf.image, haadf.pixel_size_m,
                     plain({**common, "description": "synthetic HAADF-STEM image of an MD snapshot (abTEM PRISM)",
                            **hd_meta}))
    write_micrograph(out / OUTPUT_FILES["mask"], an_last["segmentation"].mask.astype(np.uint8), hr_px,
                     plain({**common, "description": "crystalline (1) / disordered (0) mask of the synthetic HRTEM "
                                                     "image from local lattice-fringe strength"}))
    hrtem_figure(out / OUTPUT_FILES["figure"], hr_last, haadf, an_last, fr,
                 c_last["crystallinity"][c_last["atom_cluster"]], c_last["atom_index"], int(c_last["n_clusters"]),
                 f"{label + ': ' if label else ''}synthetic atomic-resolution micrographs of MD snapshot "
                 f"{last}{'' if fr.time_ps is None else f' (t = {fr.time_ps:g} ps)'}, beam along x")
    payload = {"feature_names": list(CLUSTER_FEATURES), "frames": frames,
               "time_ps": [p["time_ps"] for p in per_frame], "cluster_x": cluster_x,
               "haadf_frame": last, "haadf_cluster_x": hx, "synthetic": True,
               "interface_width_A": float(graphs.interface_width_A), "cluster_size_A": float(graphs.cluster_size_A),
               "snapshots": str(snapshots_npz)}
    save_torch(payload, out / OUTPUT_FILES["clusters"])
    sd = s.to_dict()
    measurements = plain({
        **common, "abtem_version": hr_meta["abtem"], "ase_version": hr_meta["ase"],
        "settings": {k: v for k, v in sd.items() if k != "threads"},   # threads: in the timing file
        "hrtem": {"pixel_size_m": hr_px, "shape": list(hr_last.image.shape), "metadata": hr_meta,
                  "segmentation": an_last["segmentation"].info, "accuracy": an_last["accuracy"]},
        "haadf": {"pixel_size_m": haadf.pixel_size_m, "shape": list(haadf.image.shape), "metadata": hd_meta,
                  "segmentation": an_haadf["segmentation"].info, "accuracy": an_haadf["accuracy"]},
        "frames": per_frame,
        "clusters": {"n_clusters": int(c_last["n_clusters"]), "feature_names": list(CLUSTER_FEATURES),
                     "mean_crystallinity_hrtem": float(np.mean(c_last["crystallinity"])) if c_last["n_clusters"] else None,
                     "mean_crystallinity_haadf": float(np.mean(hc["crystallinity"])) if hc["n_clusters"] else None},
    })
    seconds_hr = [t["hrtem_s"] for t in times]
    timing = plain({"time_per_image_s": {"hrtem_median": float(np.median(seconds_hr)),
                                         "hrtem_last": hr_last.metadata["seconds"],
                                         "haadf": haadf.metadata["seconds"]},
                    "hrtem_frames": times, "haadf_segmentation_s": an_haadf["segmentation_seconds"],
                    "threads": s.threads, "abtem_version": hr_meta["abtem"],
                    "hrtem_settings": sd["hrtem"], "haadf_settings": sd["haadf"],
                    "material": material, "temperature_K": temperature_K})
    write_json(timing_json or out / "timing.json", timing)
    write_json(out / OUTPUT_FILES["measurements"], measurements)
    return {**measurements, "timing": timing}

