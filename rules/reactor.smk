# Reactor: per growth condition, a continuous-crystallizer (MSMPR) log, real (config
# reactor.real_logs {"Al/900": path}: a CSV copied unchanged, a Parquet log written to raw.csv with
# its source hashed) or synthetic (population balance driven
# by the MD growth velocity and classical nucleation, with logger faults) -> validation, unit
# normalisation and cleaning with a report of every change -> steady-state fit of G and B0.
# Plus a recovery study: G and B0 recovered from generated faulty logs vs the generator's truth.
from msgnn.workflow.config import condition_seed


rule reactor_log:
    input:
        unpack(real_or_md_input("reactor", "real_logs")),
    output:
        raw="results/reactor/{material}/T{temperature}/raw.csv",
        info="results/reactor/{material}/T{temperature}/log_info.json",
    params:
        real=real_files("reactor", "real_logs"),
        generator=SETTINGS.reactor_log.to_dict(),
        nucleation=SETTINGS.nucleation.to_dict(),
        melting_point_K=lambda wc: config["materials"][wc.material]["reference_melting_point_K"],
        seed=lambda wc: condition_seed(config, "reactor", wc.material, wc.temperature),
    log:
        "results/logs/reactor/log_{material}_T{temperature}.log",
    benchmark:
        "results/benchmarks/reactor/log_{material}_T{temperature}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/reactor.yaml"
    script:
        "../workflow_scripts/reactor_log.py"


rule reactor_kinetics:
    input:
        raw=rules.reactor_log.output.raw,
        info=rules.reactor_log.output.info,
    output:
        clean="results/reactor/{material}/T{temperature}/clean.csv",
        report="results/reactor/{material}/T{temperature}/cleaning_report.csv",
        kinetics="results/reactor/{material}/T{temperature}/kinetics.json",
        figure=report(
            "results/reactor/{material}/T{temperature}/fit.png",
            category="Reactor",
            subcategory="{material}",
        ),
        cleaning=report(
            "results/reactor/{material}/T{temperature}/cleaning.png",
            category="Reactor",
            subcategory="{material}",
        ),
    log:
        "results/logs/reactor/kinetics_{material}_T{temperature}.log",
    benchmark:
        "results/benchmarks/reactor/kinetics_{material}_T{temperature}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/reactor.yaml"
    script:
        "../workflow_scripts/reactor_kinetics.py"


rule reactor_recovery:
    input:
        runs=expand_conditions(rules.md_condition.output.run, GROWTH),
    output:
        recovery="results/reactor/recovery.json",
    params:
        conditions=[[m, t] for m, t in GROWTH],
        melting_points_K={m: config["materials"][m]["reference_melting_point_K"] for m in MATERIALS},
        generator=SETTINGS.reactor_log.to_dict(),
        nucleation=SETTINGS.nucleation.to_dict(),
        study=SETTINGS.reactor_recovery.to_dict(),
        seeds=[condition_seed(config, "reactor_recovery", m, t) for m, t in GROWTH],
    log:
        "results/logs/reactor/recovery.log",
    benchmark:
        "results/benchmarks/reactor/recovery.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/reactor.yaml"
    script:
        "../workflow_scripts/reactor_recovery.py"

