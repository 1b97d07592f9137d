# Dataset: join MD snapshots (atomic + cluster graphs, clusters with their HRTEM lattice-fringe
# crystallinity), micrograph facet graphs, micrograph
# measurements, reactor kinetics and MD velocities per growth condition into HeteroData samples;
# grouped splits (GroupKFold by condition, leave-one-material-out).


rule dataset:
    input:
        atomic=expand_conditions(rules.atomic_graphs.output[0], GROWTH),
        facets=expand_conditions(rules.microscopy_condition.output.facets, GROWTH),
        measurements=expand_conditions(rules.microscopy_condition.output.measurements, GROWTH),
        reactor=expand_conditions(rules.reactor_kinetics.output.kinetics, GROWTH),
        md_run=expand_conditions(rules.md_condition.output.run, GROWTH),
        hrtem=expand_conditions(rules.microscopy_hrtem.output.clusters, GROWTH),
    output:
        samples="results/dataset/samples.pt",
        targets="results/dataset/targets.csv",
        splits="results/dataset/splits.json",
    params:
        # [material, temperature_K, reference melting point] in the order of the inputs
        conditions=[
            [m, t, config["materials"][m]["reference_melting_point_K"]] for m, t in GROWTH
        ],
        folds=SETTINGS.train.folds,
        seed=config["seed"],
    log:
        "results/logs/dataset/dataset.log",
    benchmark:
        "results/benchmarks/dataset/dataset.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    conda:
        "../envs/model.yaml"
    script:
        "../workflow_scripts/dataset.py"
