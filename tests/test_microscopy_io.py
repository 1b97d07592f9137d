"""Reading microscope files (TIFF, PNG, Berkeley/Velox EMD, DM3/DM4, SER, MRC) with calibration.

Every file is written by the test (tests/microscopy_files.py) from a known non-square random
image and pixel size, so a transposed, flipped, mis-scaled or mis-typed read fails."""
import json

import numpy as np
import pytest

import microscopy_files as mf
from msgnn.errors import InputFileError
from msgnn.microscopy.io import Micrograph, read_image, read_segmentable, unit_to_metres

IMG = np.random.default_rng(0).random((24, 40)).astype(np.float32)
IMG16 = (IMG * 60000).astype(np.uint16)

# name -> (writer(path), expected pixel size in m, format, expected metadata subset, image)
CALIBRATED = {
    "fei.tif": (lambda p: mf.write_fei_tiff(p, IMG, 2.5e-9), 2.5e-9, "tiff", {"calibration": "FEI/Thermo Fisher metadata"}, IMG),
    "imagej_nm.tif": (lambda p: mf.write_imagej_tiff(p, IMG, 0.5, "nm"), 0.5e-9, "tiff", {}, IMG),
    "imagej_um.tif": (lambda p: mf.write_imagej_tiff(p, IMG, 0.02, "\\u00B5m"), 20e-9, "tiff", {}, IMG),
    "berkeley.emd": (lambda p: mf.write_emd_berkeley(p, IMG, 0.25, "nm", {"voltage": 300.0}),
                     0.25e-9, "emd-berkeley", {"voltage": 300.0}, IMG),
    "berkeley_A.emd": (lambda p: mf.write_emd_berkeley(p, IMG, 1.5, "A"), 1.5e-10, "emd-berkeley", {}, IMG),
    "velox.emd": (lambda p: mf.write_emd_velox(p, IMG, 2e-10), 2e-10, "emd-velox",
                  {"beam_energy_keV": 300.0, "instrument": "Talos F200X", "title": "HAADF"}, IMG),
    "a.dm3": (lambda p: mf.write_dm(p, IMG, 0.3, "nm", 3), 0.3e-9, "dm3",
              {"beam_energy_keV": 200.0, "magnification": 500000.0, "title": "test micrograph"}, IMG),
    "a.dm4": (lambda p: mf.write_dm(p, IMG16, 0.012, "µm", 4), 12e-9, "dm4", {"beam_energy_keV": 200.0}, IMG16),
    "angstrom.dm3": (lambda p: mf.write_dm(p, IMG, 1.25, "Å", 3), 1.25e-10, "dm3", {}, IMG),
    "a.ser": (lambda p: mf.write_ser(p, IMG, 3e-10), 3e-10, "ser", {}, IMG),
    "a.mrc": (lambda p: mf.write_mrc(p, IMG, 2.0), 2e-10, "mrc", {"nx": 40, "ny": 24}, IMG),
}


@pytest.mark.parametrize("name", sorted(CALIBRATED))
def test_reads_pixels_and_calibration_from_file(tmp_path, name):
    write, px, fmt, meta, img = CALIBRATED[name]
    path = tmp_path / name
    write(path)
    m = read_image(path, pixel_size_m=7e-9)          # the file's calibration wins over config
    assert isinstance(m, Micrograph) and m.format == fmt and m.path == str(path)
    assert m.data.dtype == np.float64 and m.data.shape == (24, 40)
    assert np.array_equal(m.data, img.astype(np.float64))   # no transpose, flip or rescale
    assert m.pixel_size_m == pytest.approx(px, rel=1e-6)
    assert m.pixel_size_source == "file" and m.original_unit
    for k, v in meta.items():
        assert m.metadata[k] == v, (k, m.metadata)
    json.dumps(m.metadata)                           # metadata is JSON-serialisable
    s = read_segmentable(path)                       # what the pipeline reads: the same image
    assert np.array_equal(s.data, m.data) and s.pixel_size_m == m.pixel_size_m


def test_ncempy_written_berkeley_emd(tmp_path):
    from ncempy.io.emd import emdWriter
    emdWriter(tmp_path / "n.emd", IMG, pixel_size=(0.4, 0.4), pixel_unit=("nm", "nm"))
    m = read_image(tmp_path / "n.emd")
    assert m.pixel_size_m == pytest.approx(0.4e-9) and np.array_equal(m.data, IMG)


UNCALIBRATED = {
    "a.png": lambda p: mf.write_png(p, IMG),
    "plain.tif": lambda p: mf.write_tiff(p, IMG),
    "cm_tags.tif": lambda p: mf.write_tiff(p, IMG, 2.5e-9),        # resolution tags are not a calibration
    "screen_72dpi.tif": lambda p: __import__("tifffile").imwrite(p, IMG, resolution=(72, 72), resolutionunit="INCH"),
    "nounit.dm3": lambda p: mf.write_dm(p, IMG, 1.0, ""),
    "pixels.emd": lambda p: mf.write_emd_berkeley(p, IMG),
    "zero.mrc": lambda p: mf.write_mrc(p, IMG, 0.0),
}


@pytest.mark.parametrize("name", sorted(UNCALIBRATED))
def test_uncalibrated_file_uses_config_or_fails(tmp_path, name):
    path = tmp_path / name
    UNCALIBRATED[name](path)
    m = read_image(path, pixel_size_m=1.5e-9)
    assert m.pixel_size_m == 1.5e-9 and m.pixel_size_source == "config"
    with pytest.raises(InputFileError, match="missing calibration") as err:
        read_image(path)
    assert str(path) in str(err.value)


def _truncate(path):
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.6)])


def _corrupt_header(path):
    b = bytearray(path.read_bytes())
    b[:48] = np.random.default_rng(1).bytes(48)
    path.write_bytes(bytes(b))


BROKEN = {   # name -> (make file, expected words in the error)
    "truncated.dm3": (lambda p: (mf.write_dm(p, IMG, 0.3), _truncate(p)), "corrupt or truncated"),
    "truncated.dm4": (lambda p: (mf.write_dm(p, IMG, 0.3, version=4), _truncate(p)), "corrupt or truncated"),
    "truncated.ser": (lambda p: (mf.write_ser(p, IMG), _truncate(p)), "corrupt or truncated"),
    "truncated.mrc": (lambda p: (mf.write_mrc(p, IMG, 1.0), _truncate(p)), "corrupt or truncated"),
    "truncated.emd": (lambda p: (mf.write_emd_velox(p, IMG, 1e-10), _truncate(p)), "corrupt or truncated"),
    "corrupt.dm3": (lambda p: (mf.write_dm(p, IMG, 0.3), _corrupt_header(p)), "corrupt or truncated"),
    "corrupt.ser": (lambda p: (mf.write_ser(p, IMG), _corrupt_header(p)), "not a TIA SER file"),
    "corrupt.mrc": (lambda p: (mf.write_mrc(p, IMG, 1.0), _corrupt_header(p)), "corrupt or truncated"),
    "corrupt.emd": (lambda p: (mf.write_emd_berkeley(p, IMG, 0.2), _corrupt_header(p)), "corrupt or truncated"),
    "png_renamed.dm4": (lambda p: (mf.write_png(p.with_suffix(".png"), IMG),
                                   p.write_bytes(p.with_suffix(".png").read_bytes())), "corrupt or truncated"),
    "other.emd": (lambda p: __import__("h5py").File(p, "w").create_dataset("x", data=[1]),
                  "neither a Berkeley EMD"),
    "image.xyz": (lambda p: p.write_bytes(b"abc"), "unsupported micrograph format '.xyz'"),
    "nan.dm3": (lambda p: mf.write_dm(p, np.where(np.arange(40) == 7, np.nan, IMG).astype(np.float32), 0.3),
                "non-finite"),
    "nan.mrc": (lambda p: mf.write_mrc(p, np.where(IMG > 0.999, np.inf, IMG), 1.0), "non-finite"),
    "nan.emd": (lambda p: mf.write_emd_velox(p, np.where(np.arange(40) == 3, np.nan, IMG), 1e-10), "non-finite"),
    "stack.mrc": (lambda p: mf.write_mrc(p, np.stack([IMG] * 3), 1.0), "shape (3, 24, 40)"),
    "stack.dm4": (lambda p: mf.write_dm(p, np.stack([IMG] * 3), 0.3, version=4), "shape (3, 24, 40)"),
    "stack.emd": (lambda p: mf.write_emd_velox(p, IMG, 1e-10, frames=3), "shape (3, 24, 40)"),
    "stack_berkeley.emd": (lambda p: mf.write_emd_berkeley(p, np.stack([IMG] * 3), 0.2), "3-D stack"),
    "diffraction.dm3": (lambda p: mf.write_dm(p, IMG, 0.05, "1/nm"), "reciprocal space"),
    "diffraction.emd": (lambda p: mf.write_emd_berkeley(p, IMG, 0.05, "1/nm"), "reciprocal space"),
    "rectangular.dm3": (lambda p: mf.write_dm(p, IMG, (0.3, 0.6), "nm"), "non-square pixels"),
    "missing.dm3": (lambda p: None, "file not found"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_bad_files_raise_clear_errors(tmp_path, name):
    make, words = BROKEN[name]
    path = tmp_path / name
    make(path)
    with pytest.raises(InputFileError) as err:
        read_image(path, pixel_size_m=1e-9)
    assert str(path) in str(err.value) and words in str(err.value), str(err.value)


def test_nan_error_locates_pixels(tmp_path):
    img = IMG.copy()
    img[5:7, 10] = np.nan
    mf.write_dm(tmp_path / "n.dm4", img, 0.3, version=4)
    with pytest.raises(InputFileError, match="2 non-finite .* rows 5-6, columns 10-10"):
        read_image(tmp_path / "n.dm4")


@pytest.mark.parametrize("unit,metres", [("nm", 1e-9), ("µm", 1e-6), ("um", 1e-6), ("Å", 1e-10),
                                         ("\u212b", 1e-10), ("A", 1e-10), ("pm", 1e-12),
                                         ("meters", 1.0), ("kilometer", 1e3), ("nanometre", 1e-9)])
def test_unit_conversion(unit, metres):
    assert unit_to_metres(unit) == pytest.approx(metres)


@pytest.mark.parametrize("unit", ["", None, "<undefined>", "pixel", "px", "unit1"])
def test_absent_units_mean_uncalibrated(unit):
    assert unit_to_metres(unit) is None


@pytest.mark.parametrize("unit,words", [("1/nm", "reciprocal"), ("1 / nm", "reciprocal"),
                                        ("nm^-1", "reciprocal"), ("eV", "not a length"),
                                        ("furlongs-ish", "unknown calibration unit")])
def test_bad_units_refused(unit, words):
    with pytest.raises(InputFileError, match=words):
        unit_to_metres(unit, "f.dm3")


def test_a_micrograph_too_large_for_memory_is_refused_before_segmenting(tmp_path, monkeypatch):
    import psutil
    path = tmp_path / "big.tif"
    mf.write_tiff(path, IMG)
    real = psutil.virtual_memory()
    monkeypatch.setattr(psutil, "virtual_memory", lambda: real._replace(available=IMG.size * 1000))
    with pytest.raises(InputFileError, match="big.tif: image of 24 x 40 px is too large to segment here"):
        read_segmentable(path, pixel_size_m=1e-9)
    monkeypatch.undo()
    assert read_segmentable(path, pixel_size_m=1e-9).data.shape == (24, 40)
