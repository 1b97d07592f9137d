# Helpers shared by the stage files: condition lists, input functions, path patterns. No science here.
from pathlib import Path

from msgnn.workflow.config import conditions, growth_conditions, stage_settings

CONDITIONS = conditions(config)          # every (material, T): MD runs
GROWTH = growth_conditions(config)       # T below the reference Tm: micrographs, reactor, dataset
MATERIALS = list(config["materials"])
# typed settings of every rule, built once from the validated config; rules pass
# SETTINGS.<name>.to_dict() as params, so a changed setting reruns exactly the jobs that use it
SETTINGS = stage_settings(config)


def expand_conditions(pattern, conds):
    return [pattern.format(material=m, temperature=t) for m, t in conds]


def material_temperatures(material):
    return [t for m, t in CONDITIONS if m == material]


def real_files(section, key):
    """Input/params function: the real data files that config[section][key] names for this
    condition ("{material}/{temperature}"), or an empty value when the data are to be simulated."""

    def lookup(wildcards):
        value = config[section][key].get(f"{wildcards.material}/{wildcards.temperature}", [])
        return value["files"] if isinstance(value, dict) else value   # a series: {"files", "times_s"}

    return lookup


def real_or_md_input(section, *keys):
    """Input function (use with unpack): the real files if config names any under `keys`, else
    the MD run."""

    def inputs(wildcards):
        found = [real_files(section, key)(wildcards) for key in keys]   # a path or a list of paths each
        real = [f for v in found for f in ([v] if isinstance(v, str) else v)]
        if real:
            return {"real": real}
        return {"run": f"results/md/{wildcards.material}/T{wildcards.temperature}/run.json"}

    return inputs


def tuned_params_file(wildcards):
    if wildcards.base == "msgnn":
        return "results/tune/best_params.json"
    return f"results/tune/{wildcards.base}/best_params.json"


def md_material(wildcards):
    """Params: the material's settings, without its temperature lists (they select runs, so
    adding a temperature reruns no other job)."""
    return SETTINGS.md_materials[wildcards.material].to_dict()


def md_slab_settings(orientation=None):
    """Params: the md settings a slab run depends on (not the analysis or scheduling keys), at
    `orientation` (default: the primary one)."""
    slab = SETTINGS.md_slab
    return (slab.replace(orientation=orientation) if orientation else slab).to_dict()


def md_orientations():
    return [config["md"]["orientation"]] + [o for o in config["md"]["extra_orientations"]
                                            if o != config["md"]["orientation"]]


def md_replica_runs(material, orientation, temperature):
    return [f"results/md/{material}/{orientation}/T{temperature}/r{r}/run.json"
            for r in range(config["md"]["replicas"])]


def md_checkpoint_dir(wildcards, output):
    """Restart files of a running slab replica: beside its outputs, removed when it finishes."""
    return str(Path(output.run).parent / "checkpoint")


# keys that change how trials are scheduled, not what they compute: left out of the rules' params,
# so that changing them reruns nothing; the scripts read them from the config
TUNE_SCHEDULING_KEYS = ("workers", "heartbeat_interval_s", "grace_period_s", "max_retry", "journal_lock")


def tune_settings():
    return {k: v for k, v in config["tune"].items() if k not in TUNE_SCHEDULING_KEYS}


def tune_worker_files(model):
    """Input function: the worker summaries the collecting job waits for (none for one worker)."""
    n = config["tune"]["workers"]
    return [f"results/tune/workers/{model}/w{w}.json" for w in range(n)] if n > 1 else []
