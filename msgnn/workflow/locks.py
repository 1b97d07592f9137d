"""Snakemake's working-directory lock after a killed run.

Snakemake locks the files a run will read and write (.snakemake/locks/) and removes the lock when
it stops, also on Ctrl-C or SIGTERM. A run killed with SIGKILL, or by a power loss, cannot: its
lock stays, and the next `snakemake` refuses to start ("Directory cannot be locked ... --unlock")
although nothing is running. The lock does not say who took it, so the Snakefile records the
owner (host, process id, process start time) when a run starts (`record_lock_owner`, an onstart
hook) and, before the next run takes the lock, removes a lock whose owner is gone
(`release_stale_lock`). A lock taken on another host, or by a process that still runs, or one
with no owner record, is left to Snakemake (and to `snakemake --unlock`).

The killed run's unfinished jobs are then redone, not trusted: their outputs still carry
Snakemake's incomplete markers, and the profile sets rerun-incomplete.
"""
from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import psutil

from msgnn.io import read_json, write_json

log = logging.getLogger("msgnn")

OWNER_FILE = "msgnn_lock_owner.json"


def _process_start(pid: int) -> float | None:
    """The process's start time (psutil, seconds since the epoch), to tell a process from a later
    one that reuses its id; None where it cannot be read."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _alive(pid: int, start) -> bool:
    """Whether process `pid` still runs and is the one that started at `start` (an owner record
    without a start time, or a process whose start cannot be read, counts as the same)."""
    if not psutil.pid_exists(pid):
        return False
    now = _process_start(pid)
    if start is None or now is None:
        return True
    try:
        return abs(float(start) - now) < 0.01
    except (TypeError, ValueError):
        return True


def record_lock_owner(snakemake_dir: str | Path = ".snakemake") -> None:
    """onstart hook: this process holds the working directory's lock now."""
    pid = os.getpid()
    write_json(Path(snakemake_dir) / OWNER_FILE,
               {"host": socket.gethostname(), "pid": pid, "start": _process_start(pid)})


def release_stale_lock(snakemake_dir: str | Path = ".snakemake") -> bool:
    """Remove the working directory's Snakemake lock if the run that took it on this host is gone.
    Returns True when a lock was removed."""
    locks = sorted((Path(snakemake_dir) / "locks").glob("*.lock"))
    owner_file = Path(snakemake_dir) / OWNER_FILE
    if not locks or not owner_file.is_file():
        return False
    try:
        owner = read_json(owner_file)
        host, pid, start = owner["host"], int(owner["pid"]), owner.get("start")
    except (ValueError, KeyError, TypeError):
        return False
    if host != socket.gethostname() or _alive(pid, start):
        return False
    if max(p.stat().st_mtime for p in locks) > owner_file.stat().st_mtime:
        return False                                # taken after that owner's record: a run now starting
    for p in locks:
        p.unlink(missing_ok=True)
    owner_file.unlink(missing_ok=True)
    log.warning("removed the Snakemake lock left by a killed run (pid %d on %s); its unfinished jobs "
                "will be redone", pid, host)
    return True
