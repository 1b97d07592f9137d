# Report: metrics table vs the seed paper, melting points, parity plots, v(T), tuning history.
# `snakemake --report results/report/report.html` builds the HTML report from these outputs.


report: "../docs/report/workflow.rst"


rule report:
    input:
        train=expand(
            "results/train/{model}/{f}",
            model=["msgnn", "mlp", "svr", "mean", "msgnn_tuned", "mlp_tuned", "svr_tuned"],
            f=["metrics.json", "predictions.csv"],
        ),
        tune=["results/tune/best_params.json", "results/tune/history.csv"],
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
