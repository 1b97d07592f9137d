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

from msgnn.io import read_json, write_json

log = logging.getLogger("msgnn")

OWNER_FILE = "msgnn_lock_owner.json"


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux /proc), to tell a process from a
    later one that reuses its id; None where /proc is not available."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]     # field 22; the command name may hold spaces


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True                                 # exists, owned by someone else
    now = _process_start(pid)
    return start is None or now is None or now == start


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
