# Report: metrics table vs the seed paper, melting points, parity plots, v(T), tuning history.
# `snakemake --report results/report/report.html` builds the HTML report from these outputs.


report: "../docs/report/workflow.rst"

TRAINED_MODELS = ["msgnn", "mlp", "svr", "mean", "msgnn_tuned", "mlp_tuned", "svr_tuned"]


rule report:
    input:
        # every training output; the report names each model by its folder (msgnn.workflow.report.MODEL_DIRS)
        train_metrics=expand("results/train/{model}/metrics.json", model=TRAINED_MODELS),
        train_predictions=expand("results/train/{model}/predictions.csv", model=TRAINED_MODELS),
        best_params="results/tune/best_params.json",
        history="results/tune/history.csv",
        kinetics=expand("results/md/{material}/kinetics.json", material=MATERIALS),
        melting=expand("results/md/{material}/melting_point.json", material=MATERIALS),
        nucleation=expand("results/md/{material}/nucleation.json", material=MATERIALS),
        accuracy="results/microscopy/segmentation_accuracy.json",
        recovery="results/reactor/recovery.json",
    output:
        metrics="results/report/metrics.json",
        summary=report("results/report/report.md", category="Summary"),
        parity=report("results/report/parity.png", category="Model accuracy"),
        velocity=report("results/report/velocity.png", category="Molecular dynamics"),
        history=report("results/report/optimisation_history.png", category="Tuning"),
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
