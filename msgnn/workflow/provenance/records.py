"""Writing provenance records: one JSON file per job, its files pinned by sha256 (docs/provenance.md)."""
from __future__ import annotations

import hashlib
import os
import platform
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from msgnn.io import package_versions, sha256, write_json
from msgnn.workflow.provenance.environment import PACKAGE, code_hash, git_state, user, workflow_code

RECORD_SCHEMA = "msgnn-provenance/2"


@dataclass(frozen=True)
class Job:
    """One job as its record describes it; the record adds code, software, host and end time.

    inputs/outputs: the declared files or directories (directories are recorded file by file, see
    file_entries). external_inputs: files the job read that the rule does not declare (an MD
    potential), recorded like inputs with "external": true. Paths are kept as the job saw them,
    relative to `workdir` (default: the current folder)."""
    rule: str
    wildcards: dict
    inputs: list
    outputs: list
    params: dict                          # plain JSON (msgnn.io.plain)
    config_hash: str | None               # of the validated config
    threads: int
    started: float                        # time.time() when the job's code began
    external_inputs: list = field(default_factory=list)
    log: list = field(default_factory=list)
    resources: dict = field(default_factory=dict)
    workflow_root: str | Path | None = None   # the folder holding the Snakefile
    workdir: str | Path | None = None
    lammps_build: dict | None = None      # for jobs that ran LAMMPS: library version and packages
    note: str | None = None


def directory_files(path: Path) -> list[Path]:
    """The files under a directory output, hidden temporaries (.name.xxxx) skipped."""
    return [p for p in sorted(path.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)]


def directory_sha256(files: list[dict], root: str | Path) -> str:
    """One checksum for a directory: sha256 over its files' relative paths and checksums, in order
    (a renamed, added, removed or changed file changes it)."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f["path"]):
        h.update(os.path.relpath(f["path"], root).encode())
        h.update(b"\0")
        h.update(f["sha256"].encode())
        h.update(b"\n")
    return h.hexdigest()


def file_entries(paths, base: str | Path | None = None) -> list[dict]:
    """Checksummed entries for files and directories. A directory gives one entry of type
    "directory" (checksum over its contents, file count) followed by one entry per file inside it
    (each with "directory" naming it); a path that does not exist is recorded as missing.
    Relative paths are read from `base` (default: the current folder) and recorded as given."""
    base = Path(base) if base is not None else Path()
    out = []
    for name in map(str, paths):
        p = base / name
        if p.is_file():
            out.append({"path": name, "sha256": sha256(p), "bytes": p.stat().st_size})
        elif p.is_dir():
            files = [{"path": os.path.join(name, str(f.relative_to(p))), "sha256": sha256(f),
                      "bytes": f.stat().st_size, "directory": name} for f in directory_files(p)]
            out.append({"path": name, "type": "directory", "sha256": directory_sha256(files, name),
                        "files": len(files), "bytes": sum(f["bytes"] for f in files)})
            out.extend(files)
        else:
            out.append({"path": name, "sha256": None, "missing": True})
    return out


def _iso(t: float) -> str:
    """Local time with its UTC offset, ISO 8601 (what PROV and RO-Crate expect)."""
    return datetime.fromtimestamp(t).astimezone().isoformat(timespec="seconds")


def record(path: str | Path, job: Job) -> None:
    """Write the provenance record (JSON) of `job` to `path`."""
    finished = time.time()
    ext = [{**e, "external": True} for e in file_entries(job.external_inputs, job.workdir)]
    write_json(path, {
        "schema": RECORD_SCHEMA,
        "rule": job.rule,
        "wildcards": dict(job.wildcards),
        "inputs": file_entries(job.inputs, job.workdir) + ext,
        "outputs": file_entries(job.outputs, job.workdir),
        "log": [str(p) for p in job.log],
        "params": job.params,
        "config_hash": job.config_hash,
        "git": git_state(),
        "msgnn_code_sha256": code_hash(),
        "workflow": workflow_code(job.workflow_root),
        "packages": package_versions(),
        "lammps_build": job.lammps_build,
        "python": platform.python_version(),
        "host": socket.gethostname(),
        "user": user(),
        "workdir": str(Path(job.workdir).resolve()) if job.workdir is not None else os.getcwd(),
        "threads": job.threads,
        "resources": job.resources,
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "started": _iso(job.started),
        "finished": _iso(finished),
        "wall_s": round(finished - job.started, 3),
        **({"note": job.note} if job.note else {}),
    })


def record_external(results: str | Path, output: str | Path, *, rule: str, inputs: list,
                    params: dict | None = None, started: float | None = None) -> Path:
    """A provenance record for a file made outside a workflow job (e.g. the HTML report that
    `snakemake --report` writes), so that it too has a lineage. Paths are taken relative to the
    run's folder (the parent of `results`); the record goes to results/provenance/{rule}/."""
    root = Path(results).resolve().parent
    rel = [os.path.relpath(Path(p).resolve(), root) for p in [output, *inputs]]
    path = Path(results).resolve() / "provenance" / rule / f"{safe_tag(rel[0])}.json"
    record(path, Job(rule=rule, wildcards={}, inputs=rel[1:], outputs=rel[:1], params=params or {},
                     config_hash=None, threads=1, started=started if started is not None else time.time(),
                     workflow_root=PACKAGE.parent, workdir=root,
                     note="made outside a workflow job; recorded with `msgnn record`"))
    return path


def safe_tag(path: str) -> str:
    """A path as one file-name-safe word."""
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in path)
