# Training: every model on the same grouped splits; RMSE per target (log10) with 95 % CI over folds.
# results/train/{msgnn,mlp,svr,mean}: config hyperparameters; results/train/{msgnn,mlp,svr}_tuned:
# per-outer-split hyperparameters from the Optuna studies (rules/tune.smk).
# loss_history.csv: train and validation loss per fold and epoch (torch models; header only for
# svr and mean); loss_curve.csv: their mean over the grouped folds per epoch (dvc.yaml plots).


rule train:
    input:
        samples=rules.dataset.output.samples,
        splits=rules.dataset.output.splits,
    output:
        metrics="results/train/{model}/metrics.json",
        predictions="results/train/{model}/predictions.csv",
        loss_history="results/train/{model}/loss_history.csv",
        loss_curve="results/train/{model}/loss_curve.csv",
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
        loss_history="results/train/{base}_tuned/loss_history.csv",
        loss_curve="results/train/{base}_tuned/loss_curve.csv",
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


rule growth_task:
    # the growth task on the materials library (data/library, shipped): nested leave-one-material-out
    # ("lomo") or leave-one-family-out ("lofo"); docs/learning_task.md
    input:
        tables=[f"{GROWTH_LIBRARY}/{t}.csv" for t in ("materials", "kinetics", "diffusivity")],
    output:
        predictions="results/growth/{split}/predictions.csv",
        metrics="results/growth/{split}/metrics.json",
        parity=report("results/growth/{split}/parity.png", category="Growth task", labels={"split": "{split}"}),
    wildcard_constraints:
        split="lomo|lofo",
    params:
        library=lambda w, input: str(Path(input.tables[0]).parent),
        growth_task=SETTINGS.growth_task.to_dict(),
        graphs=SETTINGS.graphs.to_dict(),
        seed=config["seed"],
    log:
        "results/logs/growth/{split}.log",
    benchmark:
        "results/benchmarks/growth/{split}.tsv"
    priority: -1   # minutes, independent of the run's MD: fills a core beside the dataset chain and tuning
    threads: 1
    resources:
        mem_mb=6000,
        runtime=240,
    conda:
        "../envs/model.yaml"
    script:
        "../workflow_scripts/growth_task.py"


rule growth_studies:
    # the growth task's learning curve and tuning efficiency (GP against TPE and random search on
    # the real objective); msgnn.learn.growth_studies, docs/learning_task.md
    input:
        tables=[f"{GROWTH_LIBRARY}/{t}.csv" for t in ("materials", "kinetics", "diffusivity")],
    output:
        curve="results/growth/learning_curve.csv",
        curve_plot=report("results/growth/learning_curve.png", category="Growth task"),
        tuning="results/growth/tuning_efficiency.csv",
        tuning_plot=report("results/growth/tuning_efficiency.png", category="Growth task"),
        summary="results/growth/studies.json",
    params:
        library=lambda w, input: str(Path(input.tables[0]).parent),
        growth_task=SETTINGS.growth_task.to_dict(),
        growth_studies=SETTINGS.growth_studies.to_dict(),
        graphs=SETTINGS.graphs.to_dict(),
        seed=config["seed"],
    log:
        "results/logs/growth/studies.log",
    benchmark:
        "results/benchmarks/growth/studies.tsv"
    priority: -2   # independent of the run's MD: fills a core beside the dataset chain and tuning
    threads: 1
    resources:
        mem_mb=6000,
        runtime=240,
    conda:
        "../envs/model.yaml"
    script:
        "../workflow_scripts/growth_studies.py"


rule forecast_task:
    # the macroscale forecast (issue 14, task 2; docs/learning_task.md): synthetic micrographs and
    # reactor logs of every library condition below Tm, nested leave-one-material-out
    input:
        tables=[f"{FORECAST_LIBRARY}/{t}.csv" for t in ("materials", "kinetics", "diffusivity")],
    output:
        table="results/forecast/table.csv",
        predictions="results/forecast/predictions.csv",
        metrics="results/forecast/metrics.json",
    params:
        library=lambda w, input: str(Path(input.tables[0]).parent),
        forecast_task=SETTINGS.forecast_task.to_dict(),
        graphs=SETTINGS.graphs.to_dict(),
        noise=SETTINGS.microscopy_condition.noise,
        blur_px=SETTINGS.microscopy_condition.blur_px,
        reactor=SETTINGS.reactor_log.to_dict(),
        nucleation=SETTINGS.nucleation.to_dict(),
        seed=config["seed"],
    log:
        "results/logs/forecast/forecast_task.log",
    benchmark:
        "results/benchmarks/forecast/forecast_task.tsv"
    priority: -2   # independent of the run's MD: fills a core beside the dataset chain and tuning
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
    conda:
        "../envs/model.yaml"
    script:
        "../workflow_scripts/forecast_task.py"
