# Tuning: Optuna GPSampler (log EI) per outer split, objective = inner-GroupKFold validation RMSE
# inside that split's training conditions. The study storage (tune.storage: SQLite by default, a
# database URL or a journal file) is deliberately not an output: Snakemake would delete it before
# a rerun, and a rerun must resume.
#
# tune.workers = 1 (default): the tune / tune_baseline job runs every trial itself.
# tune.workers = N > 1: N tune_worker jobs per model (on SLURM, N jobs) share each study through
# the storage, with heartbeats, so a killed worker's trial is run again by another; then the tune /
# tune_baseline job collects the studies (and runs whatever trials are still missing).
# docs/tuning.md: storages, heartbeats, running on SLURM, watching a study in optuna-dashboard.
# loss_history.csv: every trial's train and validation loss per epoch (mean over its inner folds).

rule tune_worker:
    input:
        samples=rules.dataset.output.samples,
        splits=rules.dataset.output.splits,
    output:
        summary="results/tune/workers/{model}/w{worker}.json",
    wildcard_constraints:
        model="msgnn|mlp|svr",
        worker=r"\d+",
    params:
        model=lambda wc: wc.model,
        worker=lambda wc: int(wc.worker),
        train=SETTINGS.train.to_dict(),
        tune=SETTINGS.tune.to_dict(),
        seed=config["seed"],
        lock_dir="results/tune/workers/locks",
    log:
        "results/logs/tune/workers/{model}/w{worker}.log",
    benchmark:
        "results/benchmarks/tune/workers/{model}/w{worker}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/model.yaml"
    script:
        "../workflow_scripts/tune_worker.py"


rule tune:
    input:
        samples=rules.dataset.output.samples,
        splits=rules.dataset.output.splits,
        workers=tune_worker_files("msgnn"),
    output:
        best_params="results/tune/best_params.json",
        history="results/tune/history.csv",
        loss_history="results/tune/loss_history.csv",
    params:
        model="msgnn",
        train=SETTINGS.train.to_dict(),
        tune=SETTINGS.tune.to_dict(),
        seed=config["seed"],
    log:
        "results/logs/tune/msgnn.log",
    benchmark:
        "results/benchmarks/tune/msgnn.tsv"
    threads: 1
    priority: 25   # minutes, and training and the report wait on it: as soon as the dataset exists
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/model.yaml"
    script:
        "../workflow_scripts/tune.py"


rule tune_baseline:
    input:
        samples=rules.dataset.output.samples,
        splits=rules.dataset.output.splits,
        workers=lambda wc: tune_worker_files(wc.base),
    output:
        best_params="results/tune/{base}/best_params.json",
        history="results/tune/{base}/history.csv",
        loss_history="results/tune/{base}/loss_history.csv",
    wildcard_constraints:
        base="mlp|svr",
    params:
        model=lambda wc: wc.base,
        train=SETTINGS.train.to_dict(),
        tune=SETTINGS.tune.to_dict(),
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
