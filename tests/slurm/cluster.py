"""A real single-node SLURM cluster on this machine, for tests: munged + slurmctld + slurmd.

Works in a container without systemd: the daemons run in the foreground as children of the test
process (never through init scripts) and are stopped by their own process ids at teardown.

- `install()` puts Debian's SLURM (slurmctld, slurmd, slurm-client) and munge in place with
  apt-get when `slurmctld` is missing; it needs root (`ClusterUnavailable` otherwise).
- `SingleNodeCluster` writes a minimal slurm.conf (one node with the CPUs and memory `slurmd -C`
  reports, one partition, select/cons_tres with cores and memory as consumables,
  proctrack/linuxproc and task/none because a container has no usable cgroups, no accounting
  database), starts the daemons, waits until `sinfo` shows the node idle, and stops everything.

The configuration goes to /etc/slurm/slurm.conf, SLURM's compiled-in location, and nowhere else:
the SLURM executor plugin strips SLURM_* variables (SLURM_CONF included) from the environment of
the `srun` it runs inside each job, so a configuration elsewhere would not be found by that srun.
A machine with a slurm.conf of its own is left alone (`ClusterUnavailable`).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import debian_packages

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
COMMANDS = ["slurmctld", "slurmd", "sbatch", "squeue", "munged"]
CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# msgnn test cluster (tests/slurm/cluster.py)"
MUNGE_KEY = Path("/etc/munge/munge.key")
MUNGE_RUN = Path("/run/munge")
PARTITION = "msgnn-test"


class ClusterUnavailable(Exception):
    """SLURM cannot be set up on this machine (not root, no apt-get, a SLURM of its own); the
    message says why, and the test skips with it."""


def _run(cmd: list[str], timeout: float = 60, env: dict | None = None, check: bool = True):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}{res.stderr}")
    return res


def install(timeout: float = 900) -> float:
    """Install SLURM and munge with apt-get if they are missing; the seconds it took (0 if present).

    Only the daemons and the client commands (no recommends): slurm-wlm would pull some 40
    packages of plugins (HDF5, InfluxDB, ...) that a one-node test never loads."""
    try:
        return debian_packages.install(PACKAGES, COMMANDS, timeout)
    except debian_packages.Unavailable as e:
        raise ClusterUnavailable(f"SLURM: {e}") from e


def node_hardware() -> str:
    """This machine as slurmd sees it ("CPUs=2 Boards=1 ... RealMemory=23996"), from `slurmd -C`,
    so the node definition matches what slurmd registers (a larger RealMemory or CPU count would
    make slurmctld drain the node)."""
    res = _run(["slurmd", "-C"], check=False)
    for line in res.stdout.splitlines():
        if line.startswith("NodeName="):
            return line.split(None, 1)[1]
    raise RuntimeError(f"slurmd -C printed no node line:\n{res.stdout}{res.stderr}")


def slurm_conf(state_dir: Path, node: str, hardware: str, min_job_age_s: int) -> str:
    """A minimal one-node configuration. MinJobAge keeps finished jobs visible to `squeue` (the
    status command when there is no accounting database) for `min_job_age_s` seconds. With
    task/none, `srun --cpu-bind` only warns ("cluster configuration lacks support for cpu
    binding"); the job runs."""
    return f"""{MARKER}: one node, no accounting database. Removed at teardown.
ClusterName=msgnn-test
SlurmctldHost={node}(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge={min_job_age_s}
ReturnToService=2
StateSaveLocation={state_dir}/slurmctld
SlurmdSpoolDir={state_dir}/slurmd
SlurmctldPidFile={state_dir}/slurmctld.pid
SlurmdPidFile={state_dir}/slurmd.pid
SlurmctldLogFile={state_dir}/slurmctld.log
SlurmdLogFile={state_dir}/slurmd.log
NodeName={node} NodeAddr=127.0.0.1 {hardware} State=UNKNOWN
PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def munge_works() -> bool:
    if not (shutil.which("munge") and shutil.which("unmunge")):
        return False
    try:
        cred = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
        if cred.returncode != 0:
            return False
        return subprocess.run(["unmunge"], input=cred.stdout, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def scheduler_answers() -> bool:
    try:
        return "UP" in subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False


class SingleNodeCluster:
    """Start with `start()`, stop with `stop()` (or use as a context manager)."""

    def __init__(self, state_dir: str | Path, min_job_age_s: int = 3600):
        self.state_dir = Path(state_dir)
        self.min_job_age_s = min_job_age_s
        self.node = socket.gethostname().split(".")[0]
        self.partition = PARTITION
        self.procs: dict[str, subprocess.Popen] = {}
        self.start_s: float | None = None
        self._wrote_conf = False

    # -- set-up ------------------------------------------------------------------------------
    def _check_machine(self) -> None:
        if os.geteuid() != 0:
            raise ClusterUnavailable("starting slurmctld/slurmd and munged needs root")
        if CONF.exists() and MARKER not in CONF.read_text(errors="replace"):
            raise ClusterUnavailable(f"{CONF} exists and was not written by this test: this machine has a "
                                     "SLURM configuration of its own, which the test does not overwrite")
        if scheduler_answers():
            raise ClusterUnavailable("a slurmctld is already running on this machine")

    def _munge(self) -> None:
        """A munge key (kept if present) and a running munged (reused if one answers)."""
        if munge_works():
            return
        MUNGE_KEY.parent.mkdir(parents=True, exist_ok=True)
        if not MUNGE_KEY.exists():
            MUNGE_KEY.write_bytes(os.urandom(1024))
        shutil.chown(MUNGE_KEY, "munge", "munge")
        MUNGE_KEY.chmod(0o400)
        for d in (MUNGE_RUN, Path("/var/lib/munge"), Path("/var/log/munge")):
            d.mkdir(parents=True, exist_ok=True)
            shutil.chown(d, "munge", "munge")
        MUNGE_RUN.chmod(0o755)
        self._spawn("munged", ["munged", "--foreground"], user="munge", group="munge")
        self._wait(munge_works, 20, "munged did not answer (munge -n | unmunge)")

    def _spawn(self, name: str, cmd: list[str], **kw) -> None:
        log = open(self.state_dir / f"{name}.out", "w")
        self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **kw)

    def _wait(self, ready, timeout: float, what: str) -> None:
        t_end = time.time() + timeout
        while time.time() < t_end:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"{name} exited with {p.returncode}: {self.logs()}")
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"{what} within {timeout:.0f} s: {self.logs()}")

    def node_state(self) -> str:
        res = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, timeout=10)
        return res.stdout.strip()

    def start(self) -> "SingleNodeCluster":
        t0 = time.time()
        self._check_machine()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("slurmctld", "slurmd"):
            (self.state_dir / sub).mkdir(exist_ok=True)
        CONF.parent.mkdir(parents=True, exist_ok=True)
        CONF.write_text(slurm_conf(self.state_dir, self.node, node_hardware(), self.min_job_age_s))
        self._wrote_conf = True
        try:
            self._munge()
            self._spawn("slurmctld", ["slurmctld", "-D", "-i"])
            self._wait(scheduler_answers, 30, "slurmctld did not answer `scontrol ping`")
            self._spawn("slurmd", ["slurmd", "-D"])
            self._wait(lambda: self.node_state() == "idle", 60, f"node {self.node} did not become idle")
        except BaseException:
            self.stop()
            raise
        self.start_s = time.time() - t0
        return self

    # -- tear-down ---------------------------------------------------------------------------
    def stop(self) -> None:
        """Cancel what is left in the partition, stop the daemons this object started (by their
        process ids, last started first) and remove the configuration it wrote."""
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            subprocess.run(["scancel", "--partition", self.partition], capture_output=True, timeout=30)
            t_end = time.time() + 30   # let slurmd end the cancelled jobs' processes
            while time.time() < t_end and subprocess.run(
                    ["squeue", "--noheader", "--partition", self.partition, "--states=RUNNING,COMPLETING"],
                    capture_output=True, text=True, timeout=30).stdout.strip():
                time.sleep(1)
        for name in reversed(list(self.procs)):
            p = self.procs[name]
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
        self.procs.clear()
        if self._wrote_conf and CONF.exists() and MARKER in CONF.read_text(errors="replace"):
            CONF.unlink()
        self._wrote_conf = False

    def logs(self, tail: int = 3000) -> str:
        out = []
        for f in sorted(self.state_dir.glob("*.log")) + sorted(self.state_dir.glob("*.out")):
            out.append(f"--- {f.name}\n{f.read_text(errors='replace')[-tail:]}")
        return "\n".join(out)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
