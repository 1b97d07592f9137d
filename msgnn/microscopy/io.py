"""Reading micrographs in the formats microscopes write, with their calibration; writing float TIFFs.

One reader API: `read_image(path, pixel_size_m=None) -> Micrograph`, dispatching on the suffix:

| suffix              | library                              | calibration taken from                  |
|---------------------|--------------------------------------|-----------------------------------------|
| .tif .tiff          | tifffile (+ rosettasciio for vendors) | FEI/Zeiss/Olympus metadata, ImageJ unit, msgnn's own description (not cm/inch resolution tags) |
| .png .jpg .bmp      | scikit-image (imageio)               | none: config `pixel_size_m`             |
| .emd (Berkeley)     | ncempy.io.emd                        | dim1/dim2 vectors and their units       |
| .emd (Velox)        | rosettasciio.emd (Velox variant)     | BinaryResult PixelSize / PixelUnitX     |
| .dm3 .dm4           | rosettasciio.digitalmicrograph       | ImageData.Calibrations.Dimension        |
| .ser                | rosettasciio.tia                     | CalibrationDeltaX/Y (metres)            |
| .mrc                | mrcfile                              | voxel size (cella / mx, in Å)           |

The file's calibration wins over the config value; an uncalibrated file (no unit, or a
pixel/"<undefined>" unit) falls back to `pixel_size_m`, and with neither the read fails.
Units are converted to metres with a small table (pint for anything else); reciprocal-space
units (1/nm: a diffraction pattern) and non-square pixels are refused. Every problem raises
InputFileError naming the file and what is wrong.
"""
from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile

from msgnn.errors import InputFileError
from msgnn.io import atomic_path, plain

_UNIT_M = {"m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0, "cm": 1e-2,
           "mm": 1e-3, "um": 1e-6, "micron": 1e-6, "microns": 1e-6, "micrometer": 1e-6,
           "micrometers": 1e-6, "micrometre": 1e-6, "nm": 1e-9, "nanometer": 1e-9,
           "nanometers": 1e-9, "nanometre": 1e-9, "pm": 1e-12, "a": 1e-10, "å": 1e-10,
           "angstrom": 1e-10, "angstroms": 1e-10}
_UNCALIBRATED = {"", "<undefined>", "undefined", "none", "px", "pixel", "pixels", "unknown"}
_RESUNIT_M = {2: 0.0254, 3: 0.01}  # TIFF ResolutionUnit: INCH, CENTIMETER

FORMATS = {".tif": "tiff", ".tiff": "tiff", ".png": "image", ".jpg": "image", ".jpeg": "image",
           ".bmp": "image", ".emd": "emd", ".dm3": "dm3", ".dm4": "dm4", ".ser": "ser", ".mrc": "mrc"}


@dataclass
class Micrograph:
    """A 2-D greyscale micrograph with its calibration.

    data: float64 (rows, cols) array; pixel_size_m: edge of a (square) pixel in metres;
    pixel_size_source: "file" (the file's calibration) or "config" (file had none);
    original_unit: the unit the file states (or "" when the config value was used);
    format: "tiff", "image", "emd-berkeley", "emd-velox", "dm3", "dm4", "ser" or "mrc";
    metadata: JSON-serialisable facts from the file (title, instrument, beam energy,
    magnification, detector, date... whatever it has); path: the file read.
    """
    data: np.ndarray
    pixel_size_m: float
    pixel_size_source: str
    original_unit: str
    format: str
    metadata: dict = field(default_factory=dict)
    path: str = ""


@functools.lru_cache(maxsize=1)
def _ureg():
    import pint
    return pint.UnitRegistry()


def unit_to_metres(unit, path="<calibration>") -> float | None:
    """Metres per `unit` (nm, µm, Å, m, ...); None for an absent/pixel unit.

    Raises InputFileError for reciprocal-space units (1/nm) and for non-length units.
    """
    u = "" if unit is None else str(unit).strip()
    key = u.lower().replace("µ", "u").replace("μ", "u").replace("\u212b", "å")
    if key in _UNCALIBRATED or re.fullmatch(r"unit\d*", key):   # ncempy writes 'unit1' when unknown
        return None
    if key in _UNIT_M:
        return _UNIT_M[key]
    if key.startswith("1/") or key.startswith("1 /") or "^-1" in key or "**-1" in key:
        raise InputFileError(path, f"calibration unit '{u}' is reciprocal space (a diffraction "
                                   f"pattern or FFT), expected a real-space image in length units")
    ureg = _ureg()
    try:
        q = ureg.Quantity(1.0, u.replace("µ", "u").replace("μ", "u"))
    except Exception:
        raise InputFileError(path, f"unknown calibration unit '{u}' (expected nm, µm, Å or m)") from None
    if q.dimensionality == ureg.meter.dimensionality:
        return float(q.to("m").magnitude)
    if q.dimensionality == (1 / ureg.meter).dimensionality:
        raise InputFileError(path, f"calibration unit '{u}' is reciprocal space (a diffraction "
                                   f"pattern or FFT), expected a real-space image in length units")
    raise InputFileError(path, f"calibration unit '{u}' is not a length")


def _get_path(d, dotted):
    for part in dotted.split("."):
        if not isinstance(d, dict):
            return None
        if part not in d:
            part = part.replace("_", " ")   # rosettasciio's Box paths write spaces as '_'
            if part not in d:
                return None
        d = d[part]
    return d


def _apply_mapping(metadata, original, mapping):
    """Apply a rosettasciio `mapping` (original-metadata path -> (metadata path, function)),
    as HyperSpy would, so beam energy, magnification, microscope... land in standard keys."""
    for src, (dst, fn) in (mapping or {}).items():
        value = _get_path(original, src)
        if value is None:
            continue
        try:
            value = fn(value) if fn is not None else value
        except Exception:
            continue
        d = metadata
        parts = dst.split(".")
        for p in parts[:-1]:
            d = d.setdefault(p, {})
            if not isinstance(d, dict):
                break
        else:
            d[parts[-1]] = value


def _summary(md: dict) -> dict:
    """The facts a microscopist looks for, from HyperSpy-style metadata."""
    gen, inst = md.get("General", {}), md.get("Acquisition_instrument", {})
    out = {k: gen[k] for k in ("title", "date", "time") if gen.get(k)}
    for kind in ("TEM", "SEM"):
        if isinstance(inst.get(kind), dict):
            t = inst[kind]
            out["microscope_type"] = kind
            for src, dst in (("microscope", "instrument"), ("beam_energy", "beam_energy_keV"),
                             ("magnification", "magnification"), ("camera_length", "camera_length"),
                             ("detector", "detector")):
                if t.get(src) not in (None, ""):
                    out[dst] = t[src]
            if isinstance(t.get("Detector"), dict) and "detector" not in out:
                out["detector"] = next(iter(t["Detector"]))
    return out


def _read_rsciio(path: Path, fmt: str):
    """Read with rosettasciio (Berkeley EMD with ncempy); return (data, [(scale, unit) for
    y, x], metadata, format)."""
    if fmt == "emd":
        import h5py
        from rsciio.emd import file_reader
        from rsciio.emd._api import is_EMD_NCEM, is_EMD_Velox
        with h5py.File(path, "r") as f:
            if is_EMD_Velox(f):
                fmt = "emd-velox"
            elif is_EMD_NCEM(f):
                fmt = "emd-berkeley"
            else:
                raise InputFileError(path, "HDF5 file is neither a Berkeley EMD (version_major/"
                                           "version_minor attributes, emd_group_type=1 groups) nor a "
                                           "Velox EMD (Version dataset)")
        if fmt == "emd-berkeley":
            return _read_emd_berkeley(path) + (fmt,)
        signals = file_reader(str(path), select_type="images")
    elif fmt in ("dm3", "dm4"):
        from rsciio.digitalmicrograph import file_reader
        signals = file_reader(str(path))
    else:
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic != b"\x49\x49\x97\x01":
            raise InputFileError(path, "not a TIA SER file (the ByteOrder 0x4949 / SeriesID 0x0197 "
                                       "signature at the start is missing)")
        from rsciio.tia import file_reader
        signals = file_reader(str(path))
    if not signals:
        raise InputFileError(path, f"no image found in the {fmt} file")
    sig = signals[0]
    data = np.asarray(sig["data"])
    axes = sig["axes"]
    md = dict(sig.get("metadata") or {})
    _apply_mapping(md, sig.get("original_metadata") or {}, sig.get("mapping"))
    meta = _summary(md)
    if len(signals) > 1:
        meta["other_signals_in_file"] = [s.get("metadata", {}).get("General", {}).get("title", "")
                                         for s in signals[1:]]
    meta["file_metadata"] = plain(md, trim=True)
    if fmt == "emd-velox":
        om = sig.get("original_metadata") or {}
        for key, src in (("instrument", "Instrument.InstrumentModel"),
                         ("magnification", "Optics.NominalMagnification")):
            if _get_path(om, src) is not None:
                meta[key] = _get_path(om, src)
    cal = [(float(a.get("scale", 1.0)), a.get("units")) for a in axes[-2:]] if data.ndim >= 2 else []
    return data, cal, meta, fmt


def _read_emd_berkeley(path: Path):
    """Read the first emd_group_type=1 group of a Berkeley EMD with ncempy (the reference
    reader): data axes match dim1, dim2, ...; the pixel size is the step of each dim vector and
    its unit the vector's `units` attribute ('[n_m]' bracket notation or plain 'nm')."""
    from ncempy.io.emd import fileEMD
    with fileEMD(path, readonly=True) as emd:
        if not emd.list_emds:
            raise InputFileError(path, "Berkeley EMD file has no data group (emd_group_type = 1)")
        data, dims = emd.get_emdgroup(0)
        meta = {"title": emd.list_emds[0].name.split("/")[-1], **plain(emd.getMetadata(0), trim=True)}
        if len(emd.list_emds) > 1:
            meta["other_signals_in_file"] = [g.name for g in emd.list_emds[1:]]
    cal = []
    for vec, _name, unit in dims[-2:]:
        unit = str(unit)
        parts = re.findall(r"\[(.+?)\]", unit)
        unit = "".join(parts).replace("_", "") if parts else unit
        cal.append((float(vec[1] - vec[0]) if len(vec) > 1 else 0.0, unit))
    return np.asarray(data), cal, meta


def _read_mrc(path: Path):
    """Read an MRC file with mrcfile (strict mode): voxel size is in Å, 0 means uncalibrated."""
    import mrcfile
    with mrcfile.open(path, permissive=False) as mrc:
        data = np.array(mrc.data)
        vs = mrc.voxel_size
        h = mrc.header
        labels = [bytes(lab).decode("ascii", "replace").strip("\x00 ") for lab in h.label[: int(h.nlabl)]]
        meta = {"mode": int(h.mode), "nx": int(h.nx), "ny": int(h.ny), "nz": int(h.nz),
                "labels": [s for s in labels if s]}
    cal = [(float(vs.y), "Å" if vs.y > 0 else ""), (float(vs.x), "Å" if vs.x > 0 else "")]
    return data, cal, meta


# TIFF files of microscope vendors whose calibration tifffile recognises (rosettasciio reads it)
TIFF_VENDORS = (("is_fei", "FEI/Thermo Fisher metadata"), ("is_sem", "Zeiss SEM metadata"),
                ("is_sis", "Olympus SIS metadata"))


def _read_tiff(path: Path):
    """Read a single-page TIFF and its calibration: (data, pixel size in m or None, unit, metadata).

    Calibration, first found: a vendor's metadata (FEI/Thermo Fisher, Zeiss SEM, Olympus SIS,
    read by rosettasciio), the ImageJ unit, or the pixel size msgnn writes in its own TIFFs'
    description. Plain resolution tags in inches or centimetres are a display or print
    resolution (a screen's 72 dpi would read as 0.35 mm pixels), not a microscope calibration:
    they are ignored and said so in the metadata (`ignored_resolution_tags`); `calibration`
    in the metadata names where the pixel size came from."""
    with tifffile.TiffFile(path) as tif:
        if len(tif.series) != 1 or len(tif.pages) != 1:
            n = sum(len(s.pages) for s in tif.series)
            raise InputFileError(path, f"expected a single 2-D image, found a stack of {n} pages "
                                       f"in {len(tif.series)} series")
        data = tif.asarray()
        meta = {}
        desc = tif.pages[0].description
        if desc:
            try:
                meta["description"] = plain(json.loads(desc), trim=True)
            except ValueError:
                meta["description"] = desc[:2000]
        vendor = next((name for flag, name in TIFF_VENDORS if getattr(tif, flag, False)), None)
        px, unit = None, ""
        tags = tif.pages[0].tags
        ru = int(tags["ResolutionUnit"].value) if "ResolutionUnit" in tags else 2
        num, den = tags["XResolution"].value if "XResolution" in tags else (0, 0)
        imagej_unit = str((tif.imagej_metadata or {}).get("unit", "")).strip()
    if vendor:
        from rsciio.tiff import file_reader
        axes = {a["name"]: a for a in file_reader(str(path))[0]["axes"]}
        x = axes.get("width") or next(iter(axes.values()))
        scale = unit_to_metres(x.get("units"), path)
        if scale and x.get("scale"):
            px, unit, meta["calibration"] = float(x["scale"]) * scale, str(x["units"]), vendor
    if px is None and ru not in _RESUNIT_M and num and den and imagej_unit:
        unit = imagej_unit.replace("\\u00B5", "µ").replace("\\u00b5", "µ")
        scale = unit_to_metres(unit, path)
        if scale:
            px, meta["calibration"] = scale * den / num, "ImageJ unit"
    own = meta.get("description")
    if px is None and isinstance(own, dict) and isinstance(own.get("pixel_size_m"), (int, float)):
        px, unit, meta["calibration"] = float(own["pixel_size_m"]), "m", "msgnn description"
    if px is None and ru in _RESUNIT_M and num and den:
        meta["ignored_resolution_tags"] = (f"{num / den:g} pixels per {'inch' if ru == 2 else 'cm'}: a display "
                                           "or print resolution, not a microscope calibration")
        unit = ""
    return data, px, unit, meta


def read_image(path: str | Path, pixel_size_m: float | None = None) -> Micrograph:
    """Read one 2-D micrograph (TIFF, PNG/JPEG, EMD, DM3/DM4, SER, MRC) with its calibration.

    The pixel size is the file's own calibration converted to metres; when the file has none,
    `pixel_size_m` (from config) is used; with neither, InputFileError("missing calibration").
    RGB(A) images are converted to grey. Raises InputFileError naming the file for: a missing
    file, an unsupported suffix, a corrupt/truncated file, a 3-D stack or spectrum (not a
    single 2-D image), non-real or non-finite pixels, reciprocal-space or non-square calibration.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    suffix = path.suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise InputFileError(path, f"unsupported micrograph format '{suffix}' (expected one of "
                                   f"{', '.join(sorted(FORMATS))})")
    file_px, unit, meta = None, "", {}
    try:
        if fmt == "tiff":
            data, file_px, unit, meta = _read_tiff(path)
        elif fmt == "image":
            from skimage import io as skio
            data = skio.imread(path)
        else:
            if fmt == "mrc":
                data, cal, meta = _read_mrc(path)
            else:
                data, cal, meta, fmt = _read_rsciio(path, fmt)
            if np.asarray(data).ndim == 2:
                (sy, uy), (sx, ux) = cal
                unit = "" if ux is None else str(ux)
                fy, fx = unit_to_metres(uy, path), unit_to_metres(ux, path)
                if fx and fy and sx > 0 and sy > 0:
                    if not math.isclose(sx * fx, sy * fy, rel_tol=1e-3):
                        raise InputFileError(path, f"non-square pixels ({sx} {ux} x {sy} {uy}); "
                                                   f"expected equal x and y pixel sizes")
                    file_px = sx * fx
    except InputFileError:
        raise
    except Exception as exc:  # each library raises its own types on corrupt or truncated files
        name = {"image": "PNG/JPEG/BMP", "emd": "EMD (HDF5)"}.get(fmt, fmt.upper())
        raise InputFileError(path, f"cannot be read as a {name} file (corrupt or truncated?): "
                                   f"{type(exc).__name__}: {exc}") from None
    data = np.asarray(data)
    if data.dtype.names is not None or not np.issubdtype(data.dtype, np.number) or np.iscomplexobj(data):
        raise InputFileError(path, f"pixel type {data.dtype} is not a real number")
    if data.ndim == 3 and data.shape[-1] in (3, 4) and data.shape[0] > 4:   # RGB(A) -> grey
        from skimage.color import rgb2gray
        data = rgb2gray(data[..., :3])
        meta["converted_from_rgb"] = True
    if data.ndim != 2:
        raise InputFileError(path, f"expected a single 2-D greyscale image, got an array of shape "
                                   f"{data.shape} (a 3-D stack, spectrum or multi-channel image)")
    data = data.astype(np.float64)
    bad = ~np.isfinite(data)
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise InputFileError(path, f"{int(bad.sum())} non-finite (NaN/inf) pixel(s), in rows "
                                   f"{rows.min()}-{rows.max()}, columns {cols.min()}-{cols.max()}; "
                                   f"expected finite intensities")
    if file_px and math.isfinite(file_px) and file_px > 0:
        px, source = float(file_px), "file"
    elif pixel_size_m and math.isfinite(pixel_size_m) and pixel_size_m > 0:
        px, source, unit = float(pixel_size_m), "config", ""
    else:
        raise InputFileError(path, "missing calibration: no pixel size in the file "
                                   "and no microscopy.pixel_size_m in the config")
    return Micrograph(data=data, pixel_size_m=px, pixel_size_source=source, original_unit=unit,
                      format=fmt, metadata=plain(meta, trim=True), path=str(path))


# peak memory of segmenting a micrograph and building its facet graph, per pixel (about 250
# float64 images' worth: the multi-scale ridge filters; benchmarks/reactor_memory.py measured
# 0.97 GB at 512^2 and 2.54 GB at 1024^2 per process, 2.0 kB per added pixel)
SEGMENT_MEMORY_PER_PIXEL = 2100


def read_segmentable(path: str | Path, pixel_size_m: float | None = None) -> Micrograph:
    """read_image plus the segmentation's own checks: at least 16 px a side, not constant, and
    small enough for the memory available (InputFileError naming the file before segmenting)."""
    import psutil
    m = read_image(path, pixel_size_m)
    if min(m.data.shape) < 16:
        raise InputFileError(path, f"image of shape {m.data.shape} is too small to segment (< 16 px)")
    if np.ptp(m.data) == 0:
        raise InputFileError(path, "image is constant (no contrast to segment)")
    need, have = m.data.size * SEGMENT_MEMORY_PER_PIXEL, psutil.virtual_memory().available
    if need > 0.8 * have:
        raise InputFileError(path, f"image of {m.data.shape[0]} x {m.data.shape[1]} px is too large to segment here: "
                                   f"about {need / 1e9:.1f} GB of memory needed, {have / 1e9:.1f} GB available; "
                                   "crop or bin it (e.g. 2 x 2) first")
    return m


def write_micrograph(path: str | Path, image: np.ndarray, pixel_size_m: float,
                     description: dict | None = None) -> None:
    """Write a float32 (or label) TIFF atomically with a JSON description holding the pixel size
    (`pixel_size_m`, which read_image takes as the calibration) and the resolution tags in pixels
    per centimetre (for other programs; read_image does not trust bare resolution tags)."""
    px_per_cm = 0.01 / pixel_size_m
    with atomic_path(path) as tmp:
        tifffile.imwrite(tmp, image, resolution=(px_per_cm, px_per_cm), resolutionunit="CENTIMETER",
                         description=json.dumps({**(description or {}), "pixel_size_m": float(pixel_size_m)}),
                         metadata=None)
