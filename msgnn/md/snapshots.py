"""snapshots.npz: the MD snapshots of one run (docs/CONTRACTS.md), written by msgnn.md.slab and
read by the atomic graphs (msgnn.graphs.atomic) and the simulated micrographs (msgnn.microscopy.hrtem).

F frames of N atoms: `positions_A` (F,N,3), `cell_A` (F,3,3) orthorhombic, `time_ps` (F,),
`structure_type` (F,N) int, `solid` (F,N) bool, `pe_eV`, `coordination`, `q6` (F,N), `element`
(str), `interface_z_A` (F,2); optional `origin_A` (F,3) box origin, `lattice` (str), `synthetic`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from msgnn.errors import InputFileError
from msgnn.io import atomic_path

SNAPSHOT_KEYS = ("positions_A", "cell_A", "time_ps", "structure_type", "solid", "pe_eV",
                 "coordination", "q6", "element", "interface_z_A")
PER_ATOM_KEYS = ("structure_type", "solid", "pe_eV", "coordination", "q6")
PER_FILE_KEYS = ("element", "lattice", "synthetic")     # the others have one entry per frame


def write_snapshots(path: str | Path, snapshots: dict) -> None:
    """Write the snapshot arrays as a compressed .npz, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **snapshots)


def read_snapshots(path: str | Path) -> dict:
    """Read snapshots.npz and check its keys, shapes and values (arrays by key, `element` as str).

    Raises InputFileError naming the file for a missing or unreadable file, missing keys, an empty
    snapshot (no frames or no atoms), mismatched shapes, non-finite positions (naming the frame
    and atom), cell, interfaces or origin, and a cell that is not orthorhombic with positive lengths.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as exc:  # numpy raises OSError/ValueError/BadZipFile on corrupt files
        raise InputFileError(path, f"not a readable snapshots .npz ({type(exc).__name__}: {exc})") from None
    missing = [k for k in SNAPSHOT_KEYS if k not in data]
    if missing:
        raise InputFileError(path, f"snapshots lack key(s) {missing}; expected {list(SNAPSHOT_KEYS)}")
    pos, cell = data["positions_A"], data["cell_A"]
    if pos.ndim != 3 or pos.shape[0] == 0 or pos.shape[1] == 0 or pos.shape[2] != 3:
        raise InputFileError(path, f"positions_A has shape {pos.shape}: expected (frames >= 1, atoms >= 1, 3) "
                                   f"(empty snapshot?)")
    F, N = pos.shape[:2]
    expected = {"cell_A": (F, 3, 3), "time_ps": (F,), "interface_z_A": (F, 2),
                **{k: (F, N) for k in PER_ATOM_KEYS}}
    if "origin_A" in data:
        expected["origin_A"] = (F, 3)
    for key, shape in expected.items():
        if data[key].shape != shape:
            raise InputFileError(path, f"{key} has shape {data[key].shape}, expected {shape} "
                                       f"(positions_A has {pos.shape})")
    bad = ~np.isfinite(pos)
    if bad.any():
        f, a, _ = np.argwhere(bad)[0]
        raise InputFileError(path, f"positions_A has {int(bad.any(axis=2).sum())} non-finite atom position(s) "
                                   f"(first: frame {f}, atom {a})")
    for key in ("cell_A", "interface_z_A") + (("origin_A",) if "origin_A" in data else ()):
        if not np.all(np.isfinite(data[key])):
            raise InputFileError(path, f"{key} contains non-finite values")
    lengths = np.einsum("fii->fi", cell)
    if np.any(np.abs(cell - lengths[:, :, None] * np.eye(3)[None]) > 1e-6) or np.any(lengths <= 0):
        raise InputFileError(path, "cell_A must be diagonal (orthorhombic) with positive lengths")
    data["element"] = str(data["element"])
    return data


def frame(snapshots: dict, index: int) -> dict:
    """Frame `index` of read snapshots: each per-frame array at `index`, the per-file values as they are."""
    return {k: v if k in PER_FILE_KEYS else v[index] for k, v in snapshots.items()}
