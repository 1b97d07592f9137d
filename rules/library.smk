# The materials library (configs/library.yaml, msgnn/md/library.py): every material's MD results
# collected into data/library/, which ships in the repository (dvc.yaml stage `library`).
from msgnn.workflow.script import provenance_path

LIBRARY_EXCLUDED = config["library_exclude"]       # material -> why it is not run (named by a person)
LIBRARY = [m for m in MATERIALS if m not in LIBRARY_EXCLUDED]


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


rule library:
    input:
        unpack(library_inputs),
    output:
        materials="data/library/materials.csv",
        kinetics="data/library/kinetics.csv",
        mu="data/library/mu.csv",
        diffusivity="data/library/diffusivity.csv",
        interface_table="data/library/interfaces.csv",
        summary="data/library/summary.json",
        interfaces=[f"data/library/interfaces/{m}_{o}.npz" for m in LIBRARY for o in md_orientations(m)],
        provenance=directory("data/library/provenance"),
        mu_plot=report("data/library/figures/mu_vs_kinetic_scale.png", category="Library"),
        tm_plot=report("data/library/figures/melting_point_vs_published.png", category="Library"),
    params:
        materials={m: SETTINGS.md_materials[m].to_dict() for m in MATERIALS},
        library=LIBRARY,
        interfaces={m: library_interfaces(m) for m in LIBRARY},
        growth={m: library_growth_snapshots(m) for m in LIBRARY},
        excluded=LIBRARY_EXCLUDED,
        provenance=library_provenance(),
    log:
        "results/logs/library/library.log",
    benchmark:
        "results/benchmarks/library/library.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/md.yaml"
    script:
        "../workflow_scripts/library.py"
