"""Settings of the micrograph rules (config `microscopy`), built once from the validated config:
the JMAK micrographs of a condition, the segmentation-accuracy study, and the atomic-resolution
(abTEM) micrographs of the MD snapshots."""
from __future__ import annotations

import math
from dataclasses import dataclass

from msgnn.errors import ConfigError
from msgnn.settings import Settings


@dataclass(frozen=True)
class ConditionSettings(Settings):
    """Micrographs of one growth condition (rule microscopy_condition): the synthetic JMAK
    micrographs and in-situ series, and the calibration of real files that carry none."""
    SECTION = ("microscopy",)
    images_per_condition: int
    image_px: int
    grains_per_image: int
    noise: float
    blur_px: float
    series_frames: int                  # in-situ frames while a synthetic microstructure forms
    pixel_size_m: float | None = None   # real files without a calibration (no default in the schema)


@dataclass(frozen=True)
class AccuracySettings(Settings):
    """The segmentation-accuracy study on synthetic images with known labels (rule microscopy_accuracy)."""
    SECTION = ("microscopy",)
    accuracy_images: int                # images per noise level
    accuracy_noise_levels: list         # the default noise is always added
    noise: float                        # the default noise
    image_px: int
    grains_per_image: int
    blur_px: float
    series_frames: int


#: abTEM's atomic-potential parametrisations of neutral atoms
PARAMETRIZATIONS = ("lobato", "kirkland", "peng")


@dataclass(frozen=True)
class HrtemOptics(Settings):
    """Plane-wave HRTEM: objective lens, camera and dose (config microscopy.hrtem.hrtem)."""
    SECTION = ("microscopy", "hrtem", "hrtem")
    sampling_A: float                   # multislice grid
    slice_thickness_A: float
    Cs_um: float                        # spherical aberration (negative: NCSI, bright atoms)
    defocus_A: float | str              # abTEM convention: defocus = -C10; "scherzer" from Cs
    objective_aperture_mrad: float
    focal_spread_A: float               # 1/e width of the defocus spread (temporal coherence)
    pixel_size_A: float                 # camera pixel the image is resampled to
    dose_e_per_A2: float                # 0 or None: noise-free


@dataclass(frozen=True)
class HaadfOptics(Settings):
    """PRISM HAADF-STEM: probe, detector, scan and dose (config microscopy.hrtem.haadf)."""
    SECTION = ("microscopy", "hrtem", "haadf")
    sampling_A: float
    slice_thickness_A: float
    thickness_A: float | None           # None: one MD cell along the beam
    probe_semiangle_mrad: float
    probe_Cs_um: float
    probe_defocus_A: float
    detector_inner_mrad: float
    detector_outer_mrad: float
    scan_step_A: float
    prism_window_A: float               # S-matrix interpolation: probe window ~ this in y and z
    dose_e_per_A2: float


@dataclass(frozen=True)
class FringeOptions(Settings):
    """Local-FFT lattice-fringe analysis (msgnn.microscopy.fringes; config microscopy.hrtem.fringes)."""
    SECTION = ("microscopy", "hrtem", "fringes")
    window_A: float
    step_A: float
    d_min_A: float
    d_max_A: float
    n_peaks: int
    min_region_A2: float


@dataclass(frozen=True)
class MicrographSettings(Settings):
    """All settings of the atomic-resolution micrographs (config ``microscopy.hrtem``), checked
    for what the schema cannot say (grids against detector angles, pixel against sampling)."""
    SECTION = ("microscopy", "hrtem")
    energy_keV: float
    thickness_A: float                  # HRTEM specimen thickness (MD cell repeated along the beam)
    parametrization: str
    all_frames: bool                    # HRTEM + per-cluster crystallinity for every snapshot
    hrtem: HrtemOptics
    haadf: HaadfOptics
    fringes: FringeOptions
    threads: int = 1                    # dask workers / BLAS threads: the job's, not a config key

    def __post_init__(self):
        self._check(".".join(self.SECTION))

    def _check(self, source: str) -> None:
        positive = {"energy_keV": self.energy_keV, "thickness_A": self.thickness_A, "threads": self.threads,
                    "hrtem.sampling_A": self.hrtem.sampling_A, "hrtem.slice_thickness_A": self.hrtem.slice_thickness_A,
                    "hrtem.objective_aperture_mrad": self.hrtem.objective_aperture_mrad,
                    "hrtem.pixel_size_A": self.hrtem.pixel_size_A,
                    "haadf.sampling_A": self.haadf.sampling_A, "haadf.slice_thickness_A": self.haadf.slice_thickness_A,
                    "haadf.probe_semiangle_mrad": self.haadf.probe_semiangle_mrad,
                    "haadf.detector_outer_mrad": self.haadf.detector_outer_mrad,
                    "haadf.scan_step_A": self.haadf.scan_step_A, "haadf.prism_window_A": self.haadf.prism_window_A,
                    "fringes.window_A": self.fringes.window_A, "fringes.step_A": self.fringes.step_A,
                    "fringes.d_min_A": self.fringes.d_min_A, "fringes.n_peaks": self.fringes.n_peaks}
        for key, v in positive.items():
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"{source}.{key}: expected a positive number, got {v!r}")
        if self.haadf.thickness_A is not None and not (isinstance(self.haadf.thickness_A, (int, float))
                                                       and self.haadf.thickness_A > 0):
            raise ConfigError(f"{source}.haadf.thickness_A: expected a positive number or null, got "
                              f"{self.haadf.thickness_A!r}")
        for key, dose in (("hrtem", self.hrtem.dose_e_per_A2), ("haadf", self.haadf.dose_e_per_A2)):
            if dose is not None and not (isinstance(dose, (int, float)) and math.isfinite(dose) and dose >= 0):
                raise ConfigError(f"{source}.{key}.dose_e_per_A2: expected a number >= 0 (0: noise-free), got {dose!r}")
        if self.hrtem.pixel_size_A < self.hrtem.sampling_A:
            raise ConfigError(f"{source}.hrtem.pixel_size_A: {self.hrtem.pixel_size_A} Å is finer than the "
                              f"multislice grid ({self.hrtem.sampling_A} Å); expected >= it")
        if self.fringes.d_max_A <= self.fringes.d_min_A:
            raise ConfigError(f"{source}.fringes: d_max_A {self.fringes.d_max_A} must exceed d_min_A "
                              f"{self.fringes.d_min_A}")
        if not (0 <= self.haadf.detector_inner_mrad < self.haadf.detector_outer_mrad):
            raise ConfigError(f"{source}.haadf: detector angles {self.haadf.detector_inner_mrad}-"
                              f"{self.haadf.detector_outer_mrad} mrad: expected 0 <= inner < outer")
        if self.parametrization not in PARAMETRIZATIONS:
            raise ConfigError(f"{source}.parametrization: {self.parametrization!r} is not one of {list(PARAMETRIZATIONS)}")
        if not isinstance(self.all_frames, bool):
            raise ConfigError(f"{source}.all_frames: expected true or false, got {self.all_frames!r}")
        if isinstance(self.hrtem.defocus_A, str) and self.hrtem.defocus_A.lower() != "scherzer":
            raise ConfigError(f"{source}.hrtem.defocus_A: expected a number (Å) or 'scherzer', got "
                              f"{self.hrtem.defocus_A!r}")

    def check_detector(self) -> None:
        """The HAADF detector must lie within the angles the simulation grid represents (asks abTEM,
        so it is checked when a job simulates, not when the config is read)."""
        from msgnn.microscopy.hrtem import antialias_limit_mrad, wavelength_A
        limit = antialias_limit_mrad(self.haadf.sampling_A, self.energy_keV)
        if self.haadf.detector_outer_mrad > limit:
            raise ConfigError(f"{'.'.join(self.SECTION)}.haadf.detector_outer_mrad: {self.haadf.detector_outer_mrad} "
                              f"mrad exceeds the {limit:.0f} mrad the {self.haadf.sampling_A} Å grid represents; lower "
                              f"it or refine haadf.sampling_A to "
                              f"{wavelength_A(self.energy_keV) / 3 / (self.haadf.detector_outer_mrad * 1e-3):.3f} Å")
