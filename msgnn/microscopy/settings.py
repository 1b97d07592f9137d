"""Settings of the micrograph rules (config `microscopy`), built once from the validated config.
The atomic-resolution (abTEM) settings are `MicrographSettings` in msgnn.microscopy.hrtem."""
from __future__ import annotations

from dataclasses import dataclass

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
