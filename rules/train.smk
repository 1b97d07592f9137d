# Training: every model on the same grouped splits; RMSE per target (log10) with 95 % CI over folds.
# results/train/{msgnn,mlp,svr,mean}: config hyperparameters; results/train/{msgnn,mlp,svr}_tuned:
# per-outer-split hyperparameters from the Optuna studies (rules/tune.smk).


rule train:
    input:
        samples=rules.dataset.output.samples,
        splits=rules.dataset.output.splits,
    output:
        metrics="results/train/{model}/metrics.json",
        predictions="results/train/{model}/predictions.csv",
    wildcard_constraints:
        model="msgnn|mlp|svr|mean",
    params:
        train=SETTINGS.train.to_dict(),
        seed=config["seed"],
    log:
        "results/logs/train/{model}.log",
    benchmark:
        "results/benchmarks/train/{model}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/model.yaml"
    script:
        "../workflow_scripts/train.py"


rule train_tuned:
    input:
        samples=rules.dataset.output.samples,
        splits=rules.dataset.output.splits,
        best_params=tuned_params_file,
    output:
        metrics="results/train/{base}_tuned/metrics.json",
        predictions="results/train/{base}_tuned/predictions.csv",
    wildcard_constraints:
        base="msgnn|mlp|svr",
    params:
        train=SETTINGS.train.to_dict(),
        seed=config["seed"],
    log:
        "results/logs/train/{base}_tuned.log",
    benchmark:
        "results/benchmarks/train/{base}_tuned.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/model.yaml"
    script:
        "../workflow_scripts/train.py"
