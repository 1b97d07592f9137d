# Helpers shared by the stage files: condition lists, input functions, path patterns. No science here.
from pathlib import Path

from msgnn.workflow.config import conditions, growth_conditions, orientations, stage_settings
from msgnn.workflow.script import provenance_path

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
        return {"run": rules.md_condition.output.run.format(**wildcards)}

    return inputs


def tuned_params_file(wildcards):
    """Input function: the best parameters that the tuned model `base` is trained with."""
    if wildcards.base == "msgnn":
        return rules.tune.output.best_params
    return rules.tune_baseline.output.best_params.format(base=wildcards.base)


def md_material(wildcards):
    """Params: the material's settings, without its temperature lists (they select runs, so
    adding a temperature reruns no other job)."""
    return SETTINGS.md_materials[wildcards.material].to_dict()


def md_slab_settings(orientation=None):
    """Params: the md settings a slab run depends on (not the analysis or scheduling keys), at
    `orientation` (default: the primary one)."""
    slab = SETTINGS.md_slab
    return (slab.replace(orientation=orientation) if orientation else slab).to_dict()


def md_orientations(material):
    """The material's interface normals, the primary one first."""
    return orientations(config, material)


def md_replica_runs(material, orientation, temperature):
    return expand(rules.md_run.output.run, material=material, orientation=orientation, temperature=temperature,
                  replica=range(config["md"]["replicas"]))


def md_exports(material, interface=False):
    """The extxyz + in.lammps views (rules md_export, md_interface_export) of the material's
    slab runs (those md_kinetics reads), or of its interface runs."""
    if interface:
        return [f.format(material=material, orientation=o) for o in md_orientations(material)
                for f in rules.md_interface_export.output]
    return [f for o in md_orientations(material) for t in material_temperatures(material)
            for r in range(config["md"]["replicas"]) for f in expand(list(rules.md_export.output),
            material=material, orientation=o, temperature=t, replica=r)]


def primary_snapshots(wildcards):
    """Input of the rules that read one MD run per condition: replica 0 at the primary orientation."""
    return rules.md_run.output.snapshots.format(orientation=md_orientations(wildcards.material)[0], replica=0,
                                                **wildcards)


def md_checkpoint_dir(wildcards, output):
    """Restart files of a running slab replica: beside its outputs, removed when it finishes."""
    return str(Path(output.run).parent / "checkpoint")


def tune_worker_files(model):
    """The worker summaries the collecting job waits for (none for one worker). The tune rules'
    params leave SETTINGS.tune_scheduling out, so that changing it reruns nothing."""
    n = SETTINGS.tune_scheduling.workers
    return expand(rules.tune_worker.output.summary, model=model, worker=range(n)) if n > 1 else []


# ---- the materials library (rules/library.smk)
LIBRARY_EXCLUDED = config["library_exclude"]       # material -> why it is not run (named by a person)
LIBRARY = [m for m in MATERIALS if m not in LIBRARY_EXCLUDED]
LIBRARY_OUT = config["library_out"]
# the growth task (rules/train.smk) reads the shipped library; `snakemake growth_all` runs it
GROWTH_LIBRARY = config["growth_task"]["library"]
# the forecast task (rules/train.smk) makes synthetic data from a library; `snakemake forecast_all` runs it
FORECAST_LIBRARY = config["forecast_task"]["library"]
# ... and the report shows it once that library exists (it ships in data/library/)
GROWTH_IN_REPORT = Path(GROWTH_LIBRARY, "materials.csv").exists()
FORECAST_IN_REPORT = Path(FORECAST_LIBRARY, "materials.csv").exists()


def library_interfaces(material):
    return {o: (rules.md_interface.output.run.format(material=material, orientation=o),
                rules.md_interface.output.snapshots.format(material=material, orientation=o))
            for o in md_orientations(material)}


def library_growth_snapshots(material):
    """The growth run whose grown crystal is checked for its phase: the deepest undercooling,
    primary orientation, replica 0."""
    return rules.md_run.output.snapshots.format(material=material, orientation=md_orientations(material)[0],
                                                temperature=min(material_temperatures(material)), replica=0)


def library_inputs(wildcards):
    files = {}
    for m in LIBRARY:
        files[f"{m}_melting"] = rules.md_melting.output.melting_point.format(material=m)
        files[f"{m}_descriptors"] = rules.md_descriptors.output.descriptors.format(material=m)
        files[f"{m}_kinetics"] = rules.md_kinetics.output.kinetics.format(material=m)
        files[f"{m}_growth"] = library_growth_snapshots(m)
        for o, (run, snaps) in library_interfaces(m).items():
            files[f"{m}_{o}_interface_run"], files[f"{m}_{o}_interface_snapshots"] = run, snaps
    return files


def library_provenance():
    """The provenance records of every job whose results the library holds."""
    paths = []
    for m in LIBRARY:
        paths += [provenance_path(r, {"material": m}) for r in ("md_melting", "md_descriptors", "md_kinetics")]
        for o in md_orientations(m):
            paths.append(provenance_path("md_interface", {"material": m, "orientation": o}))
            paths += [provenance_path("md_run", {"material": m, "orientation": o, "temperature": t, "replica": r})
                      for t in material_temperatures(m) for r in range(config["md"]["replicas"])]
    return [str(p) for p in paths]
