# msgnn: MD -> atomic graphs; micrographs -> facet graphs; reactor logs -> kinetics;
# joined per condition into multi-scale samples -> MS-GNN + baselines -> Optuna GP tuning -> report.
from snakemake.utils import min_version

from msgnn.workflow.config import validate
from msgnn.workflow.locks import record_lock_owner, release_stale_lock

min_version("9.0")


# --configfile replaces config.yaml (a smoke or cluster config is complete on its own) instead of
# being merged into it; --config key=value still overrides single keys.
if not workflow.config_settings.configfiles:

    configfile: "config.yaml"


config = validate(config, source="config (config.yaml + --configfile/--config overrides)")

# A run killed with SIGKILL (or a power loss) leaves Snakemake's lock behind; release it when the
# run that took it is gone, so the next `snakemake` resumes (msgnn/workflow/locks.py). The killed run's
# unfinished jobs are redone (incomplete markers + rerun-incomplete in the profile).
release_stale_lock()


onstart:
    record_lock_owner()


wildcard_constraints:
    material="[A-Za-z0-9_-]+",
    temperature=r"\d+",
    orientation="100|110|111",
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


rule all:
    input:
        "results/report/metrics.json",
        "results/report/report.md",
    default_target: True


# One target per stage (used by dvc.yaml's stages and handy on the command line).
rule md_all:
    input:
        expand("results/md/{material}/{f}.json", material=MATERIALS, f=["kinetics", "melting_point", "nucleation"]),
        expand_conditions("results/md/{material}/T{temperature}/run.json", CONDITIONS),
        expand_conditions("results/graphs/atomic/{material}/T{temperature}.pt", GROWTH),


rule microscopy_all:
    input:
        expand_conditions("results/microscopy/{material}/T{temperature}/measurements.json", GROWTH),
        expand_conditions("results/microscopy/{material}/T{temperature}/hrtem/measurements.json", GROWTH),
        "results/microscopy/segmentation_accuracy.json",


rule reactor_all:
    input:
        expand_conditions("results/reactor/{material}/T{temperature}/kinetics.json", GROWTH),
        "results/reactor/recovery.json",
