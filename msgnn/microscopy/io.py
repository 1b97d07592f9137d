"""Reading micrographs (TIFF/PNG) with calibration, and writing calibrated float TIFFs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tifffile

from msgnn.errors import InputFileError
from msgnn.io import atomic_path

_UNIT_M = {"m": 1.0, "meter": 1.0, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "\\u00B5m": 1e-6,
           "micron": 1e-6, "microns": 1e-6, "micrometer": 1e-6, "nm": 1e-9, "nanometer": 1e-9,
           "a": 1e-10, "å": 1e-10, "angstrom": 1e-10}
_RESUNIT_M = {2: 0.0254, 3: 0.01}  # TIFF ResolutionUnit: INCH, CENTIMETER


def _tiff_pixel_size(tif: tifffile.TiffFile) -> float | None:
    page = tif.pages[0]
    tags = page.tags
    if "XResolution" not in tags:
        return None
    num, den = tags["XResolution"].value
    if not num or not den:
        return None
    px_per_unit = num / den
    unit = int(tags["ResolutionUnit"].value) if "ResolutionUnit" in tags else 2
    if unit in _RESUNIT_M:
        return _RESUNIT_M[unit] / px_per_unit
    ij = tif.imagej_metadata or {}
    scale = _UNIT_M.get(str(ij.get("unit", "")).strip().lower())
    return scale / px_per_unit if scale else None


def read_micrograph(path: str | Path, pixel_size_m: float | None = None) -> tuple[np.ndarray, float]:
    """Read a single 2-D micrograph as float64 and its pixel size in metres.

    The pixel size comes from the TIFF resolution tags (or ImageJ unit) and otherwise from
    `pixel_size_m`; raises InputFileError for unreadable/truncated files, stacks, non-finite
    pixels or a missing calibration.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    suffix = path.suffix.lower()
    file_px = None
    try:
        if suffix in (".tif", ".tiff"):
            with tifffile.TiffFile(path) as tif:
                if len(tif.series) != 1 or len(tif.pages) != 1:
                    n = sum(len(s.pages) for s in tif.series)
                    raise InputFileError(path, f"expected a single 2-D image, found a stack of {n} pages "
                                               f"in {len(tif.series)} series")
                data = tif.asarray()
                file_px = _tiff_pixel_size(tif)
        elif suffix in (".png", ".jpg", ".jpeg", ".bmp"):
            from skimage import io as skio
            data = skio.imread(path)
        else:
            raise InputFileError(path, f"unsupported micrograph format '{suffix}' (expected .tif/.tiff/.png)")
    except InputFileError:
        raise
    except Exception as exc:  # tifffile/imageio raise many types on corrupt or truncated files
        raise InputFileError(path, f"cannot be read as an image (corrupt or truncated?): "
                                   f"{type(exc).__name__}: {exc}") from None
    data = np.asarray(data)
    if data.ndim == 3 and data.shape[-1] in (3, 4) and data.shape[0] > 4:   # RGB(A) -> grey
        from skimage.color import rgb2gray
        data = rgb2gray(data[..., :3])
    if data.ndim != 2:
        raise InputFileError(path, f"expected a single 2-D greyscale image, got an array of shape "
                                   f"{data.shape} (a 3-D stack or multi-channel image)")
    if min(data.shape) < 16:
        raise InputFileError(path, f"image of shape {data.shape} is too small to segment (< 16 px)")
    if not np.issubdtype(data.dtype, np.number) or np.iscomplexobj(data):
        raise InputFileError(path, f"pixel type {data.dtype} is not a real number")
    data = data.astype(np.float64)
    bad = ~np.isfinite(data)
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise InputFileError(path, f"{int(bad.sum())} non-finite (NaN/inf) pixel(s), in rows "
                                   f"{rows.min()}-{rows.max()}, columns {cols.min()}-{cols.max()}; "
                                   f"expected finite intensities")
    if np.ptp(data) == 0:
        raise InputFileError(path, "image is constant (no contrast to segment)")
    px = file_px if file_px else pixel_size_m
    if not px or not np.isfinite(px) or px <= 0:
        raise InputFileError(path, "missing calibration: no pixel size in the file's resolution tags "
                                   "and no microscopy.pixel_size_m in the config")
    return data, float(px)


def write_micrograph(path: str | Path, image: np.ndarray, pixel_size_m: float,
                     description: dict | None = None) -> None:
    """Write a float32 (or label) TIFF atomically with the pixel size in its resolution tags
    (pixels per centimetre) and a JSON description."""
    px_per_cm = 0.01 / pixel_size_m
    with atomic_path(path) as tmp:
        tifffile.imwrite(tmp, image, resolution=(px_per_cm, px_per_cm), resolutionunit="CENTIMETER",
                         description=json.dumps(description or {}), metadata=None)
