"""Shared fixtures for the end-to-end tests, so the expensive runs happen once per session.

- `smoke_run`: the smoke config through the whole Snakemake DAG (tests/test_workflow.py and
  tests/test_reproducibility.py); `smoke_report` its HTML report (tests/test_report_browser.py).
- `dvc_repro`: the same config through `dvc repro` in a fresh git repository made from the working
  tree, with a local DVC remote and `dvc push` done (tests/test_dvc.py and
  tests/test_reproducibility.py). It is the second clean run that the reproducibility test
  compares with `smoke_run`, so the session pays for two smoke runs, not three.

Both record the sha256 of every file under results/ right after the run, before any test
changes the folder.

`make test` runs the suite on all cores (pytest-xdist, `-n auto --dist loadgroup`): every test that
uses one of these runs goes to one worker (group "workflow", so each run happens once), and every
other test file to one worker as a whole (its module fixtures are made once). The SLURM test and the
workflow runs wait on schedulers and subprocesses much of the time; the other worker uses that time.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SMOKE_CONFIG = ROOT / "tests" / "smoke_config.yaml"
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
SNAKEMAKE_HERE = [sys.executable, "-m", "snakemake"]   # the Snakefile of the folder it runs in
SHARED_RUNS = ("smoke_run", "smoke_report", "dvc_repro")
GIT_USER = ["-c", "user.name=msgnn tests", "-c", "user.email=tests@msgnn.invalid", "-c", "commit.gpgsign=false"]


def run(cmd, cwd, timeout=900, check=True, env=None) -> subprocess.CompletedProcess:
    """Run a command; with `check`, fail the test with the command and the tail of its output."""
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                         timeout=timeout, env=env)
    if check and res.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} (in {cwd}) exited {res.returncode}\n"
                    f"{res.stdout[-3000:]}\n{res.stderr[-4000:]}", pytrace=False)
    return res


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def results_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under root/results, keyed by its path relative to root."""
    return {str(p.relative_to(root)): sha256(p)
            for p in sorted((root / "results").rglob("*")) if p.is_file()}


def working_tree_repo(dest: Path) -> Path:
    """A fresh git repository at `dest` holding this checkout's working tree (tracked files as they
    are now, plus untracked files git does not ignore), committed: what a clone of this checkout
    would be once its changes are committed. In CI, where the checkout is a clean clone, that is
    exactly `git clone`."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT).stdout
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file():           # a tracked file deleted in the working tree is left out
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    run(["git", "init", "-q", "-b", "main"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", *GIT_USER, "commit", "-q", "-m", "working tree under test"], dest)
    return dest


def repo_env(repo: Path) -> dict:
    """Environment for commands run in a test repository: its own msgnn package first (the
    installed one is an editable install of this checkout)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))}


@dataclass
class Run:
    """A finished workflow run: its folder, wall time and the results/ checksums right after it."""
    path: Path
    wall_s: float
    hashes: dict[str, str]
    extra: dict = field(default_factory=dict)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Run:
    """The smoke config through `snakemake --cores 2` in an empty folder."""
    d = tmp_path_factory.mktemp("smoke")
    shutil.copy(SMOKE_CONFIG, d / "config.yaml")
    t0 = time.time()
    res = run([*SNAKEMAKE, "--cores", "2", "--directory", d, "--configfile", "config.yaml"], d, timeout=900)
    wall = time.time() - t0
    print(f"smoke workflow wall time: {wall:.0f} s")
    return Run(d, wall, results_hashes(d), {"log": res.stdout + res.stderr})


@pytest.fixture(scope="session")
def smoke_report(smoke_run) -> Path:
    """`snakemake --report` of the smoke run: the HTML report a user opens."""
    run([*SNAKEMAKE, "--directory", smoke_run.path, "--configfile", "config.yaml",
         "--report", "results/report/report.html"], smoke_run.path, timeout=300)
    return smoke_run.path / "results/report/report.html"


@pytest.fixture(scope="session")
def dvc_repro(tmp_path_factory) -> Run:
    """`dvc repro` of the smoke config in a repository made from the working tree, then `dvc push`
    to a local remote and a commit of dvc.lock (what a user commits and pushes to git)."""
    from msgnn.workflow.config import load

    base = tmp_path_factory.mktemp("dvc")
    repo = working_tree_repo(base / "repo1")
    remote = base / "remote"
    # DVC reads params from config.yaml, so every section must be spelled out: the smoke config
    # with its defaults filled in
    (repo / "config.yaml").write_text(yaml.safe_dump(load(SMOKE_CONFIG)))
    run(["git", *GIT_USER, "commit", "-q", "-am", "smoke config"], repo)
    run(["dvc", "remote", "add", "--local", "-f", "-d", "scratch", remote], repo)
    t0 = time.time()
    run(["dvc", "repro"], repo, timeout=1500, env=repo_env(repo))
    wall = time.time() - t0
    print(f"dvc repro (smoke) wall time: {wall:.0f} s")
    hashes = results_hashes(repo)
    t0 = time.time()
    run(["dvc", "push"], repo, timeout=600)
    push_s = time.time() - t0
    run(["git", "add", "dvc.lock"], repo)
    run(["git", *GIT_USER, "commit", "-q", "-m", "dvc repro: smoke results"], repo)
    return Run(repo, wall, hashes, {"remote": remote, "push_s": push_s})


# the longest work units, started first (xdist hands out units in collection order)
FIRST_GROUPS = ("workflow", "test_slurm")


@pytest.hookimpl(tryfirst=True)      # before xdist reads the groups into the test ids
def pytest_collection_modifyitems(config, items):
    """Work units for `pytest -n N --dist loadgroup`: the tests of the shared runs, and each file;
    the longest ones first, so that no worker starts one of them when the others are done."""
    groups = {}
    for item in items:
        shared = any(f in SHARED_RUNS for f in getattr(item, "fixturenames", ()))
        groups[item] = "workflow" if shared else item.module.__name__
        item.add_marker(pytest.mark.xdist_group(groups[item]))
    rank = {g: i for i, g in enumerate(FIRST_GROUPS)}
    items.sort(key=lambda item: rank.get(groups[item], len(rank)))    # stable: file order otherwise
