"""What ran a job: the msgnn code, the workflow definition, the git checkout and the user."""
from __future__ import annotations

import getpass
import hashlib
import subprocess
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2]      # the msgnn package
WORKFLOW_CODE = ("Snakefile", "rules/*.smk", "workflow_scripts/*.py", "envs/*.yaml")


def code_hash() -> str:
    """sha256 over the msgnn package's source files, so a record pins the code that ran."""
    h = hashlib.sha256()
    for p in sorted(PACKAGE.rglob("*")):
        if p.suffix in {".py", ".yaml"} and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(PACKAGE)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def workflow_code(root: str | Path | None) -> dict | None:
    """The workflow definition the job ran under: its folder and a sha256 over the Snakefile,
    rule files, workflow scripts and conda envs (the msgnn package has its own code_hash)."""
    if root is None or not (Path(root) / "Snakefile").is_file():
        return None
    root = Path(root).resolve()
    h = hashlib.sha256()
    for pattern in WORKFLOW_CODE:
        for p in sorted(root.glob(pattern)):
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return {"root": str(root), "sha256": h.hexdigest()}


def git_state(cwd: str | Path = PACKAGE) -> dict:
    """The commit checked out at `cwd` and whether tracked files have uncommitted changes."""
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


def user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
