# The materials library (configs/library.yaml, msgnn/md/library.py): every material's MD results
# collected into data/library/, which ships in the repository (stage `library` of data/dvc.yaml).
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
