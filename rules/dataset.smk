# Dataset: join MD snapshots (atomic + cluster graphs, clusters with their HRTEM lattice-fringe
# crystallinity), micrograph facet graphs, micrograph
# measurements, reactor kinetics and MD velocities per growth condition into HeteroData samples;
# grouped splits (GroupKFold by condition, leave-one-material-out).


rule dataset:
    input:
        atomic=expand_conditions("results/graphs/atomic/{material}/T{temperature}.pt", GROWTH),
        facets=expand_conditions("results/microscopy/{material}/T{temperature}/facets.pt", GROWTH),
        measurements=expand_conditions(
            "results/microscopy/{material}/T{temperature}/measurements.json", GROWTH
        ),
        reactor=expand_conditions("results/reactor/{material}/T{temperature}/kinetics.json", GROWTH),
        md_run=expand_conditions("results/md/{material}/T{temperature}/run.json", GROWTH),
        hrtem=expand_conditions(
            "results/microscopy/{material}/T{temperature}/hrtem/cluster_crystallinity.pt", GROWTH
        ),
    output:
        samples="results/dataset/samples.pt",
        targets="results/dataset/targets.csv",
        splits="results/dataset/splits.json",
    params:
        # [material, temperature_K, reference melting point] in the order of the inputs
        conditions=[
            [m, t, config["materials"][m]["reference_melting_point_K"]] for m, t in GROWTH
        ],
        folds=config["train"]["folds"],
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
