# msgnn: MD -> atomic graphs; micrographs -> facet graphs; reactor logs -> kinetics;
# joined per condition into multi-scale samples -> MS-GNN + baselines -> Optuna GP tuning -> report.
import sys
import time

from snakemake.utils import min_version

from msgnn.workflow.config import read_text, validate
from msgnn.workflow.locks import record_lock_owner, release_stale_lock
from msgnn.workflow.script import failure_summary

min_version("9.27")


# --configfile replaces config.yaml (a smoke or cluster config is complete on its own) instead of
# being merged into it; --config key=value still overrides single keys.
if not workflow.config_settings.configfiles:
    read_text("config.yaml")      # a clear message for a missing or non-UTF-8 file (a --configfile one
                                  # is read by Snakemake itself, before this file: `msgnn validate` it)

    configfile: "config.yaml"


config = validate(config, source=" + ".join(map(str, workflow.config_settings.configfiles or ["config.yaml"]))
                  + (" with --config overrides" if workflow.config_settings.config else ""))

# A run killed with SIGKILL (or a power loss) leaves Snakemake's lock behind; release it when the
# run that took it is gone, so the next `snakemake` resumes (msgnn/workflow/locks.py). The killed run's
# unfinished jobs are redone (incomplete markers + rerun-incomplete in the profile).
release_stale_lock()


onstart:
    record_lock_owner()


RUN_STARTED = time.time()


onerror:
    # one list of the failed jobs and their one-line reasons (each job's traceback is in its log)
    print(failure_summary(RUN_STARTED) or "msgnn: the run failed before any job reported why (see above)",
          file=sys.stderr)


wildcard_constraints:
    material="[A-Za-z0-9_-]+",
    temperature=r"\d+",
    orientation="100|110|111|0001|10-10",
    replica=r"\d+",
    model="[a-z_]+",


include: "rules/common.smk"
include: "rules/md.smk"
include: "rules/microscopy.smk"
include: "rules/reactor.smk"
include: "rules/dataset.smk"
include: "rules/train.smk"
include: "rules/tune.smk"
include: "rules/report.smk"
include: "rules/library.smk"


rule all:
    input:
        rules.report.output.metrics,
        rules.report.output.summary,
    default_target: True


# One target per stage (used by dvc.yaml's stages and handy on the command line).
rule md_all:
    input:
        expand(rules.md_kinetics.output.kinetics, material=MATERIALS),
        expand(rules.md_melting.output.melting_point, material=MATERIALS),
        expand(rules.md_nucleation.output.nucleation, material=MATERIALS),
        expand_conditions(rules.md_condition.output.run, CONDITIONS),
        expand_conditions(rules.atomic_graphs.output[0], GROWTH),
        [f for m in MATERIALS for f in md_exports(m)],


# every MD run as files a person opens (snapshots.extxyz, in.lammps), the interface runs included
rule md_export_all:
    input:
        [f for m in MATERIALS for f in md_exports(m) + md_exports(m, interface=True)],


rule growth_all:
    input:
        expand(rules.growth_task.output.metrics, split=config["growth_task"]["splits"]),
        rules.growth_studies.output.summary,


rule forecast_all:
    input:
        rules.forecast_task.output.metrics,


rule microscopy_all:
    input:
        expand_conditions(rules.microscopy_condition.output.measurements, GROWTH),
        expand_conditions(rules.microscopy_hrtem.output.measurements, GROWTH),
        rules.microscopy_accuracy.output.accuracy,


rule reactor_all:
    input:
        expand_conditions(rules.reactor_kinetics.output.kinetics, GROWTH),
        rules.reactor_recovery.output.recovery,
