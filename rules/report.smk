# Report: metrics table vs the seed paper, melting points, parity plots, v(T), tuning history,
# training and validation loss curves.
# `snakemake --report results/report/report.html` builds the HTML report from these outputs.


report: "../docs/report/workflow.rst"

UNTUNED_MODELS = ["msgnn", "mlp", "svr", "mean"]   # config hyperparameters (rule train)
TUNED_MODELS = ["msgnn", "mlp", "svr"]             # Optuna's parameters per outer split (rule train_tuned)


rule report:
    input:
        # every training output; the report names each model by its folder (msgnn.workflow.report.MODEL_DIRS)
        train_metrics=expand(rules.train.output.metrics, model=UNTUNED_MODELS)
        + expand(rules.train_tuned.output.metrics, base=TUNED_MODELS),
        train_predictions=expand(rules.train.output.predictions, model=UNTUNED_MODELS)
        + expand(rules.train_tuned.output.predictions, base=TUNED_MODELS),
        # the torch models' loss per epoch (svr and mean have no epochs)
        loss_histories=expand(rules.train.output.loss_history, model=["msgnn", "mlp"])
        + expand(rules.train_tuned.output.loss_history, base=["msgnn", "mlp"]),
        best_params=rules.tune.output.best_params,
        history=rules.tune.output.history,
        kinetics=expand(rules.md_kinetics.output.kinetics, material=MATERIALS),
        melting=expand(rules.md_melting.output.melting_point, material=MATERIALS),
        nucleation=expand(rules.md_nucleation.output.nucleation, material=MATERIALS),
        accuracy=rules.microscopy_accuracy.output.accuracy,
        recovery=rules.reactor_recovery.output.recovery,
        growth=expand(rules.growth_task.output.metrics, split=config["growth_task"]["splits"]) if GROWTH_IN_REPORT else [],
        forecast=[rules.forecast_task.output.metrics] if FORECAST_IN_REPORT else [],
        library=[f"{GROWTH_LIBRARY}/materials.csv"] if GROWTH_IN_REPORT else [],
        growth_studies=[rules.growth_studies.output.summary] if GROWTH_IN_REPORT else [],
    output:
        metrics="results/report/metrics.json",
        summary=report("results/report/report.md", category="Summary"),
        parity=report("results/report/parity.png", category="Model accuracy"),
        velocity=report("results/report/velocity.png", category="MD"),
        history=report("results/report/optimisation_history.png", category="Tuning"),
        losses=report("results/report/loss_curves.png", category="Model accuracy"),
    log:
        "results/logs/report/report.log",
    benchmark:
        "results/benchmarks/report/report.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/report.yaml"
    script:
        "../workflow_scripts/report.py"
