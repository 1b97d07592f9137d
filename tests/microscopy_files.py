"""Writers of small, valid microscope files for the tests (one per format msgnn reads).

Where a library writes the format it is used (tifffile, scikit-image, mrcfile). Berkeley and
Velox EMD are HDF5 files written with h5py following their documented layouts. DM3/DM4 and
SER have no writer anywhere, so they are written byte by byte following the format
descriptions that rosettasciio's and ncempy's readers implement (rsciio/digitalmicrograph,
ncempy/io/dm.py; rsciio/tia, ncempy/io/ser.py). Pixel sizes are given in the file's own unit.
"""
from __future__ import annotations

import json
import struct
import uuid
from pathlib import Path

import numpy as np


def write_tiff(path, image, pixel_size_m=None):
    """Float32 TIFF; with `pixel_size_m` the resolution tags hold pixels per centimetre (which is
    not a microscope calibration: read_image ignores them)."""
    import tifffile
    kw = {}
    if pixel_size_m:
        kw = dict(resolution=(0.01 / pixel_size_m,) * 2, resolutionunit="CENTIMETER")
    tifffile.imwrite(path, np.asarray(image, np.float32), **kw)


def write_fei_tiff(path, image, pixel_size_m, dpi=72):
    """A TIFF as FEI/Thermo Fisher SEMs and FIBs write it: the calibration in the FEI_HELIOS tag's
    INI text ([Scan] PixelWidth/PixelHeight in metres), the resolution tags a screen's dpi."""
    import tifffile
    ini = (f"[User]\nUser=test\n[System]\nSoftware=xT\n[Scan]\nPixelWidth={pixel_size_m:.6e}\n"
           f"PixelHeight={pixel_size_m:.6e}\n")
    tifffile.imwrite(path, np.asarray(image, np.float32), resolution=(dpi, dpi), resolutionunit="INCH",
                     extratags=[(34682, "s", 0, ini, True)])


def write_imagej_tiff(path, image, pixel_size, unit):
    """ImageJ TIFF: resolution in pixels per `unit` stored in the ImageJ unit (ASCII only: ImageJ
    writes µm as the escaped text "\\u00B5m")."""
    import tifffile
    tifffile.imwrite(path, np.asarray(image, np.float32), imagej=True,
                     resolution=(1 / pixel_size, 1 / pixel_size), metadata={"unit": unit})


def write_png(path, image):
    """8-bit PNG (PNG has no calibration)."""
    from skimage import io as skio
    img = np.asarray(image, float)
    img = (255 * (img - img.min()) / max(np.ptp(img), 1e-12)).astype(np.uint8)
    skio.imsave(path, img, check_contrast=False)


def write_mrc(path, image, voxel_size_angstrom=0.0):
    """MRC via mrcfile; the voxel size is in Å (0 = uncalibrated). A 3-D array makes a stack."""
    import mrcfile
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(np.asarray(image, np.float32))
        mrc.voxel_size = voxel_size_angstrom


def write_emd_berkeley(path, image, pixel_size=None, unit="nm", microscope=None):
    """Berkeley EMD (v0.2): root attrs version_major/minor; /data/<name> group with
    emd_group_type=1 holding `data` and one coordinate vector per axis, dim1 (rows), dim2 (cols), each
    with `name` and `units` attributes (units in the EMD bracket notation, e.g. '[n_m]').
    Without `pixel_size` the dims are bare pixel indices with no unit (uncalibrated)."""
    import h5py
    image = np.asarray(image)
    with h5py.File(path, "w") as f:
        f.attrs["version_major"], f.attrs["version_minor"] = 0, 2
        g = f.create_group("data/micrograph")
        g.attrs["emd_group_type"] = 1
        g.create_dataset("data", data=image)
        u = "[" + "_".join(unit) + "]" if pixel_size else ""
        for k, (n, name) in enumerate(zip(image.shape, ("z", "y", "x")[-image.ndim:]), start=1):
            step = pixel_size if pixel_size else 1.0
            d = g.create_dataset(f"dim{k}", data=np.arange(n) * step)
            d.attrs["name"], d.attrs["units"] = name, u
        if microscope:
            m = f.create_group("microscope")
            for key, value in microscope.items():
                m.attrs[key] = value


def _json_uint8(obj, length=None):
    raw = np.frombuffer(json.dumps(obj).encode("utf-8"), np.uint8)
    out = np.zeros((length or raw.size + 16, 1), np.uint8)
    out[: raw.size, 0] = raw
    return out


def write_emd_velox(path, image, pixel_size_m, voltage_V=300e3, unit="m", frames=1):
    """Velox EMD (version 11): /Version JSON, /Data/Image/<uuid>/Data of shape (rows, cols,
    frames) and /Data/Image/<uuid>/Metadata, a uint8 column holding JSON with BinaryResult
    (PixelSize in `unit`, PixelUnitX), Detectors, Optics, Acquisition, Instrument."""
    import h5py
    image = np.asarray(image, np.float32)
    stack = image[..., None] if frames == 1 else np.repeat(image[..., None], frames, axis=2)
    meta = {
        "BinaryResult": {"PixelSize": {"width": str(pixel_size_m), "height": str(pixel_size_m)},
                         "PixelUnitX": unit, "PixelUnitY": unit, "Offset": {"x": "0", "y": "0"},
                         "DetectorIndex": "0", "ImageSize": {"width": str(image.shape[1]),
                                                             "height": str(image.shape[0])}},
        "Detectors": {"Detector-0": {"DetectorName": "HAADF", "DetectorType": "ScanningDetector"}},
        "Optics": {"AccelerationVoltage": str(voltage_V), "NominalMagnification": "910000"},
        "Acquisition": {"AcquisitionStartDatetime": {"DateTime": "1700000000"}},
        "Instrument": {"InstrumentModel": "Talos F200X", "Manufacturer": "FEI Company"},
        "Scan": {"FrameTime": "1.0", "DwellTime": "1e-6"},
    }
    with h5py.File(path, "w") as f:
        f.create_dataset("Version", data=np.array([json.dumps({"format": "Velox", "version": "11"})
                                                   .encode()]))
        g = f.create_group(f"Data/Image/{uuid.UUID(int=1).hex}")
        g.create_dataset("Data", data=stack, chunks=image.shape + (1,))
        g.create_dataset("Metadata", data=np.repeat(_json_uint8(meta), frames, axis=1))


# ---------- Gatan DigitalMicrograph DM3 / DM4 ----------
# File = header (version, root length, byte order) + root tag group. A tag group is
# (sorted u8, open u8, n tags); a tag is (type u8: 20 group / 21 data, name length u16, name,
# [DM4: u64 size of the rest of the tag]) followed by the group, or by '%%%%', the length of
# the info array and the info array (type codes), then the data in the file's byte order.
# All counts/sizes/info are big-endian, 4 bytes in DM3 and 8 bytes in DM4.
_DM_TYPES = {np.dtype("int16"): (2, 1), np.dtype("int32"): (3, 7), np.dtype("uint16"): (4, 10),
             np.dtype("uint32"): (5, 11), np.dtype("float32"): (6, 2), np.dtype("float64"): (7, 12),
             np.dtype("int8"): (9, 9), np.dtype("uint8"): (10, 6)}   # numpy -> (tag type, image DataType)


class _DMWriter:
    def __init__(self, version):
        self.v = version
        self.n = ">I" if version == 3 else ">Q"

    def count(self, k):
        return struct.pack(self.n, k)

    def group(self, items):
        """items: list of (name, value) with value a list (subgroup) or a data value."""
        body = b"\x00\x00" + self.count(len(items))   # unsorted, closed
        for name, value in items:
            body += self.tag(name, value)
        return body

    def tag(self, name, value):
        nb = name.encode("latin-1")
        if isinstance(value, list):
            kind, rest = 20, self.group(value)
        else:
            kind, rest = 21, self.data(value)
        head = struct.pack(">BH", kind, len(nb)) + nb
        if self.v == 4:
            head += struct.pack(">Q", len(rest))
        return head + rest

    def data(self, value):
        if isinstance(value, str):   # strings: arrays of uint16 (UTF-16 code units)
            arr = np.frombuffer(value.encode("utf-16-le"), "<u2")
            info = [20, 4, arr.size]
            payload = arr.astype("<u2").tobytes()
        elif isinstance(value, np.ndarray):
            info = [20, _DM_TYPES[value.dtype][0], value.size]
            payload = value.astype(value.dtype.newbyteorder("<")).tobytes()
        elif isinstance(value, float):
            info, payload = [6], struct.pack("<f", value)
        else:
            info, payload = [3], struct.pack("<i", int(value))
        return (b"%%%%" + self.count(len(info)) + b"".join(self.count(i) for i in info) + payload)


def write_dm(path, image, pixel_size=1.0, unit="nm", version=3, voltage_V=200e3,
             magnification=500000.0, microscope="JEM-2100F"):
    """A DM3 (version=3) or DM4 (version=4) file with one image, its spatial calibration
    (Scale and Units of each ImageData.Calibrations.Dimension, x first; `pixel_size` may be an
    (x, y) tuple) and Microscope Info.
    `unit=""` with pixel_size=1 is what DigitalMicrograph writes for an uncalibrated image."""
    image = np.ascontiguousarray(image)
    w = _DMWriter(version)
    dims = [("", int(n)) for n in image.shape[::-1]]   # x (columns) first
    scales = pixel_size if isinstance(pixel_size, tuple) else (pixel_size,) * image.ndim   # x first
    cal_dims = [("", [("Origin", 0.0), ("Scale", float(sc)), ("Units", unit)]) for sc in scales]
    image_entry = [
        ("ImageData", [
            ("Calibrations", [
                ("Brightness", [("Origin", 0.0), ("Scale", 1.0), ("Units", "counts")]),
                ("Dimension", cal_dims),
                ("DisplayCalibratedUnits", 1)]),
            ("Data", image.ravel()),
            ("DataType", _DM_TYPES[image.dtype][1]),
            ("Dimensions", dims),
            ("PixelDepth", image.dtype.itemsize)]),
        ("ImageTags", [
            ("Microscope Info", [("Voltage", float(voltage_V)),
                                 ("Indicated Magnification", float(magnification)),
                                 ("Name", microscope), ("Illumination Mode", "TEM")])]),
        ("Name", "test micrograph"),
    ]
    root = w.group([("ImageList", [("", image_entry)])])
    header_len = 16 if version == 3 else 24
    tail = b"\x00" * 8
    size = header_len + len(root) + len(tail)
    header = struct.pack(">i", version) + w.count(size - header_len) + struct.pack(">i", 1)
    Path(path).write_bytes(header + root + tail)


# ---------- FEI/TIA SER ----------
_SER_TYPES = {np.dtype("uint8"): 1, np.dtype("uint16"): 2, np.dtype("uint32"): 3, np.dtype("int8"): 4,
              np.dtype("int16"): 5, np.dtype("int32"): 6, np.dtype("float32"): 7, np.dtype("float64"): 8}


def write_ser(path, image, pixel_size_m=1e-9):
    """A TIA .ser file (SeriesVersion 0x0220, 8-byte offsets) holding one 2-D image element.

    Layout (little-endian): header (ByteOrder 0x4949, SeriesID 0x0197, SeriesVersion,
    DataTypeID 0x4122 = 2-D image, TagTypeID 0x4152 = time tag, total/valid element counts,
    OffsetArrayOffset, NumberDimensions), one series dimension of size 1, the data- and
    tag-offset arrays, the image element (X and Y calibration offset/delta/element with
    delta in metres, DataType, ArraySizeX, ArraySizeY, pixels) and the time tag. Rows are
    stored bottom-up (TIA's origin is bottom-left), which rosettasciio flips back."""
    image = np.ascontiguousarray(image)
    rows, cols = image.shape
    desc, units = b"Number", b""
    dim = struct.pack("<IddII", 1, 0.0, 1.0, 0, len(desc)) + desc + struct.pack("<I", len(units)) + units
    header_len = 2 + 2 + 2 + 4 * 4 + 8 + 4
    offset_array = header_len + len(dim)
    data_offset = offset_array + 16
    element = (struct.pack("<ddiddi", 0.0, pixel_size_m, 0, 0.0, pixel_size_m, 0)
               + struct.pack("<HII", _SER_TYPES[image.dtype], cols, rows)
               + image[::-1].astype(image.dtype.newbyteorder("<")).tobytes())
    tag_offset = data_offset + len(element)
    header = struct.pack("<HHHIIIIQI", 0x4949, 0x0197, 0x0220, 0x4122, 0x4152, 1, 1, offset_array, 1)
    tag = struct.pack("<HHI", 0x4152, 0, 1700000000)
    Path(path).write_bytes(header + dim + struct.pack("<QQ", data_offset, tag_offset) + element + tag)
