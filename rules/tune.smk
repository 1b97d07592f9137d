# Tuning: Optuna GPSampler (log EI) per outer split, objective = inner-GroupKFold validation RMSE
# inside that split's training conditions. The study storage (tune.storage, SQLite by default) is
# deliberately not an output: Snakemake would delete it before a rerun, and a rerun must resume.


rule tune:
    input:
        samples="results/dataset/samples.pt",
        splits="results/dataset/splits.json",
    output:
        best_params="results/tune/best_params.json",
        history="results/tune/history.csv",
    params:
        model="msgnn",
        train=config["train"],
        tune=config["tune"],
        seed=config["seed"],
    log:
        "results/logs/tune/msgnn.log",
    benchmark:
        "results/benchmarks/tune/msgnn.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/model.yaml"
    script:
        "../workflow_scripts/tune.py"


rule tune_baseline:
    input:
        samples="results/dataset/samples.pt",
        splits="results/dataset/splits.json",
    output:
        best_params="results/tune/{base}/best_params.json",
        history="results/tune/{base}/history.csv",
    wildcard_constraints:
        base="mlp|svr",
    params:
        model=lambda wc: wc.base,
        train=config["train"],
        tune=config["tune"],
        seed=config["seed"],
    log:
        "results/logs/tune/{base}.log",
    benchmark:
        "results/benchmarks/tune/{base}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/model.yaml"
    script:
        "../workflow_scripts/tune.py"
