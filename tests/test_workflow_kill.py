"""SIGKILL mid-run: the next plain `snakemake` resumes.

A cheap target (Al slab replicas at three temperatures, two replicas each, short runs with
checkpoints) runs with 2 cores; as soon as the first replica has finished, the whole Snakemake
process group is killed with SIGKILL (no chance to clean up: the lock, the incomplete markers,
the killed jobs' checkpoints and any partial outputs stay). Then the same command again:

- it starts (the killed run's lock is released: msgnn/workflow/locks.py) and completes;
- finished jobs are not redone: not in its job list, their outputs keep their bytes and file time;
- the killed and the not-yet-started jobs are redone, and nothing of the killed run's unfinished
  jobs is kept (Snakemake's incomplete markers + rerun-incomplete in the profile; our outputs are
  written atomically); a replica killed after a checkpoint resumes from it;
- no incomplete marker, lock or temporary file is left.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import SMOKE_CONFIG, SNAKEMAKE, run, sha256
from msgnn.workflow.config import load
from msgnn.workflow.locks import OWNER_FILE, record_lock_owner, release_stale_lock
from msgnn.md.slab import CHECKPOINT_STATE

TEMPERATURES = [800, 870, 1000]
REPLICAS = 2


def kill_config() -> dict:
    cfg = load(SMOKE_CONFIG)
    cfg["materials"] = {"Al": {**cfg["materials"]["Al"], "temperatures_K": TEMPERATURES}}
    cfg["md"].update(replicas=REPLICAS, melt_steps=600, equilibrate_steps=200, expansion_steps=200,
                     growth_steps=2500, checkpoint_every_ps=1.0, transient_ps=1.0)
    return cfg


def replica_dir(t: int, r: int) -> str:
    return f"results/md/Al/100/T{t}/r{r}"


def planned_replicas(dry_run_output: str) -> set[str]:
    """Replica folders of the md_run jobs a `snakemake -n` (or a run's log) lists."""
    found = set()
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", "\n" + dry_run_output):
        if block.startswith(("rule md_run:", "localrule md_run:")):
            m = re.search(r"output: (results/md/Al/100/T\d+/r\d+)/run\.json", block)
            assert m, block
            found.add(m.group(1))
    return found


def stat_outputs(root: Path, rep: str) -> dict:
    return {name: (sha256(root / rep / name), (root / rep / name).stat().st_mtime_ns)
            for name in ("run.json", "snapshots.npz")}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sigkilled_workflow_resumes_without_redoing_finished_jobs(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(kill_config()))
    targets = [f"results/md/Al/T{t}/run.json" for t in TEMPERATURES]
    cmd = [*SNAKEMAKE, *targets, "--cores", "2", "--directory", tmp_path, "--configfile", "config.yaml"]
    reps = [replica_dir(t, r) for t in TEMPERATURES for r in range(REPLICAS)]
    t_start = time.time()

    with open(tmp_path / "killed_run.log", "w") as logf:
        proc = subprocess.Popen([str(c) for c in cmd], cwd=tmp_path, stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True)     # own process group: kill it with its jobs
        deadline = time.time() + 300
        # Snakemake counts a job as done once it has checked its outputs and dropped its
        # incomplete marker; then it starts the next one
        while not re.search(r"^Finished jobid: \d+ \(Rule: md_run\)", (tmp_path / "killed_run.log").read_text(), re.M):
            assert proc.poll() is None, (tmp_path / "killed_run.log").read_text()[-4000:]
            assert time.time() < deadline, "no replica finished within 5 min"
            time.sleep(0.05)
        time.sleep(0.5)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    t_kill = time.time()
    assert proc.returncode == -signal.SIGKILL
    snake = tmp_path / ".snakemake"
    assert any(p.is_file() for p in (snake / "incomplete").rglob("*")), "no job was running when killed"
    assert any((snake / "locks").glob("*.lock")), "the killed run left no lock (nothing to test)"

    # what the next run will do: the unfinished replicas only
    res = run([*cmd, "-n"], tmp_path, timeout=300)
    todo = planned_replicas(res.stdout + res.stderr)
    done = set(reps) - todo
    assert todo and done, (todo, done)
    before = {rep: stat_outputs(tmp_path, rep) for rep in done}
    checkpointed = {rep for rep in todo if (tmp_path / rep / "checkpoint" / CHECKPOINT_STATE).exists()}
    partial = {rep for rep in todo if any((tmp_path / rep / n).exists() for n in ("run.json", "snapshots.npz"))}

    # the same command again: resumes and completes
    res = run(cmd, tmp_path, timeout=400)
    log = res.stdout + res.stderr
    assert planned_replicas(log) == todo, log[-4000:]
    for rep in done:
        assert stat_outputs(tmp_path, rep) == before[rep], f"{rep} was finished but was rewritten"
    for rep in todo:
        for name in ("run.json", "snapshots.npz"):
            assert (tmp_path / rep / name).stat().st_mtime > t_kill, f"{rep}/{name} kept from the killed run"
        assert not (tmp_path / rep / "checkpoint").exists()
    for rep in checkpointed:
        assert json.loads((tmp_path / rep / "run.json").read_text())["resumed_from_ps"] is not None, rep
    for t in TEMPERATURES:
        cond = json.loads((tmp_path / f"results/md/Al/T{t}/run.json").read_text())
        assert cond["n_replicas"] == REPLICAS
    assert not any(p.is_file() for p in (snake / "incomplete").rglob("*")), "incomplete markers left"
    assert not any((snake / "locks").glob("*.lock")), "lock left after a finished run"
    leftovers = [p for p in (tmp_path / "results").rglob(".*") if p.name != ".snakemake_timestamp"]
    assert not leftovers, leftovers
    print(f"killed after {t_kill - t_start:.0f} s; redone {sorted(todo)} (checkpointed {sorted(checkpointed)}, "
          f"partial outputs {sorted(partial)}); kept {sorted(done)}; total {time.time() - t_start:.0f} s")


# ---------------------------------------------------------------- the stale-lock rule (fast)

def locked_dir(tmp_path, owner: dict | None, lock_age_s: float = 10.0) -> Path:
    """A .snakemake folder with a lock, and an owner record written after it (unless lock_age_s < 0)."""
    snake = tmp_path / ".snakemake"
    (snake / "locks").mkdir(parents=True)
    for name in ("0.input.lock", "0.output.lock"):
        (snake / "locks" / name).write_text("results/x.json\n")
        t = time.time() - lock_age_s
        os.utime(snake / "locks" / name, (t, t))
    if owner is not None:
        (snake / OWNER_FILE).write_text(json.dumps(owner))
    return snake


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_lock_of_a_reused_pid_is_released(tmp_path):
    """The owner's pid is alive but started at another time: another process reused the pid."""
    snake = locked_dir(tmp_path, {"host": socket.gethostname(), "pid": os.getpid(), "start": "1"})
    assert release_stale_lock(snake)


def test_lock_of_a_dead_run_is_released(tmp_path):
    snake = locked_dir(tmp_path, {"host": socket.gethostname(), "pid": dead_pid(), "start": "1"})
    assert release_stale_lock(snake)
    assert not list((snake / "locks").glob("*.lock")) and not (snake / OWNER_FILE).exists()


@pytest.mark.parametrize("case", ["alive", "other host", "no owner record", "lock newer than record", "no lock"])
def test_other_locks_are_left_to_snakemake(tmp_path, case):
    owner = {"host": socket.gethostname(), "pid": dead_pid(), "start": "1"}
    if case == "alive":
        snake = tmp_path / ".snakemake"
        record_lock_owner(snake)                       # this very process, with its start time
        snake = locked_dir(tmp_path, None, lock_age_s=10.0)
        os.utime(snake / OWNER_FILE)
    elif case == "other host":
        snake = locked_dir(tmp_path, {**owner, "host": socket.gethostname() + "-elsewhere"})
    elif case == "no owner record":
        snake = locked_dir(tmp_path, None)
    elif case == "lock newer than record":           # a run that has locked but not yet recorded itself
        snake = locked_dir(tmp_path, owner, lock_age_s=-10.0)
    else:
        snake = tmp_path / ".snakemake"
        snake.mkdir()
        (snake / OWNER_FILE).write_text(json.dumps(owner))
    locks = sorted((snake / "locks").glob("*.lock"))
    assert not release_stale_lock(snake)
    assert sorted((snake / "locks").glob("*.lock")) == locks
