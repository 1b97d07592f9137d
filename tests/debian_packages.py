"""Debian packages that tests need (SLURM, Chromium), installed with apt-get when missing.

CI runs as root on a Debian machine (`.ci/run`), so the packages are installed there on first
use; elsewhere a test that needs them skips with the reason `Unavailable` gives."""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


class Unavailable(Exception):
    """The packages are missing and cannot be installed here (not root, no apt-get)."""


def _run(cmd: list[str], timeout: float, env: dict) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}{res.stderr}")


def install(packages: list[str], commands: list[str], timeout: float = 900) -> float:
    """apt-get install `packages` (no recommends) unless every one of `commands` is on PATH;
    returns the seconds it took (0 if nothing was missing).

    A policy-rc.d that forbids service starts keeps the packages' maintainer scripts from starting
    daemons of their own (there is no systemd to manage them here)."""
    if all(shutil.which(c) for c in commands):
        return 0.0
    what = f"apt-get install {' '.join(packages)}"
    if os.geteuid() != 0:
        raise Unavailable(f"{', '.join(commands)} not installed and `{what}` needs root")
    if not shutil.which("apt-get"):
        raise Unavailable(f"{', '.join(commands)} not installed and there is no apt-get")
    t0 = time.time()
    # one apt-get at a time: `make test` runs tests side by side (pytest -n), and two installs would
    # fight over dpkg's lock and this policy-rc.d
    with open(Path(tempfile.gettempdir()) / "msgnn-tests-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not all(shutil.which(c) for c in commands):       # the other install may have brought them
            _apt_install(packages, timeout)
    missing = [c for c in commands if not shutil.which(c)]
    if missing:
        raise RuntimeError(f"`{what}` finished but {', '.join(missing)} are missing")
    return time.time() - t0


def _apt_install(packages: list[str], timeout: float = 900) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    policy = Path("/usr/sbin/policy-rc.d")
    own_policy = not policy.exists()
    if own_policy:
        policy.write_text("#!/bin/sh\n# written by msgnn tests/debian_packages.py during apt-get install\nexit 101\n")
        policy.chmod(0o755)
    try:
        _run(["apt-get", "update", "-qq"], timeout, env)
        _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], timeout, env)
    finally:
        if own_policy:
            policy.unlink(missing_ok=True)
