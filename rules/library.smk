# The materials library (configs/library.yaml, msgnn/md/library.py): every material's MD results
# collected into LIBRARY_OUT (config library_out): data/library/ under configs/library.yaml, which ships
# in the repository (stage `library` of data/dvc.yaml); results/library/ under any other config.
rule library:
    input:
        unpack(library_inputs),
    output:
        materials=f"{LIBRARY_OUT}/materials.csv",
        kinetics=f"{LIBRARY_OUT}/kinetics.csv",
        mu=f"{LIBRARY_OUT}/mu.csv",
        diffusivity=f"{LIBRARY_OUT}/diffusivity.csv",
        interface_table=f"{LIBRARY_OUT}/interfaces.csv",
        summary=f"{LIBRARY_OUT}/summary.json",
        interfaces=[f"{LIBRARY_OUT}/interfaces/{m}_{o}.npz" for m in LIBRARY for o in md_orientations(m)],
        provenance=directory(f"{LIBRARY_OUT}/provenance"),
        mu_plot=report(f"{LIBRARY_OUT}/figures/mu_vs_kinetic_scale.png", category="Library"),
        tm_plot=report(f"{LIBRARY_OUT}/figures/melting_point_vs_published.png", category="Library"),
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
