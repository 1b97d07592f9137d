# MD stage: crystal–liquid slabs in LAMMPS -> v(T), mu, Tm; snapshots -> atomic graphs.
from msgnn.config import condition_seed


rule md_run:
    output:
        run="results/md/{material}/T{temperature}/run.json",
        snapshots="results/md/{material}/T{temperature}/snapshots.npz",
    params:
        # the material without its temperature list: adding a temperature reruns no other run
        material=lambda wc: {k: v for k, v in config["materials"][wc.material].items() if k != "temperatures_K"},
        md={k: v for k, v in config["md"].items() if k not in ("kinetic_fit_max_undercooling_fraction", "melting")},
        seed=lambda wc: condition_seed(config, "md", wc.material, wc.temperature),
    log:
        "results/logs/md/md_run/{material}_T{temperature}.log",
    benchmark:
        "results/benchmarks/md/md_run/{material}_T{temperature}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    conda:
        "../envs/md.yaml"
    script:
        "../workflow_scripts/md_run.py"


rule md_kinetics:
    input:
        runs=lambda wc: expand("results/md/{material}/T{temperature}/run.json",
                               material=wc.material, temperature=material_temperatures(wc.material)),
    output:
        kinetics="results/md/{material}/kinetics.json",
        plot=report("results/md/{material}/velocity_vs_temperature.png", category="MD",
                    subcategory="{material}", labels={"material": "{material}", "figure": "v(T)"}),
    params:
        material=lambda wc: config["materials"][wc.material],
        max_undercooling_fraction=config["md"]["kinetic_fit_max_undercooling_fraction"],
    log:
        "results/logs/md/md_kinetics/{material}.log",
    benchmark:
        "results/benchmarks/md/md_kinetics/{material}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/md.yaml"
    script:
        "../workflow_scripts/md_kinetics.py"


rule md_melting:
    # Tm by NPH solid-liquid coexistence (independent of the v(T) runs, so it schedules freely;
    # kinetics.json keeps the v(T)=0 crossing as melting_point_from_velocity for comparison)
    output:
        melting_point="results/md/{material}/melting_point.json",
        plot=report("results/md/{material}/coexistence_temperature.png", category="MD",
                    subcategory="{material}", labels={"material": "{material}", "figure": "coexistence T(t)"}),
    params:
        material=lambda wc: {k: v for k, v in config["materials"][wc.material].items() if k != "temperatures_K"},
        md={k: v for k, v in config["md"].items() if k not in ("kinetic_fit_max_undercooling_fraction", "melting")},
        melting=config["md"]["melting"],
        seed=lambda wc: condition_seed(config, "md_melting", wc.material),
    log:
        "results/logs/md/md_melting/{material}.log",
    benchmark:
        "results/benchmarks/md/md_melting/{material}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    conda:
        "../envs/md.yaml"
    script:
        "../workflow_scripts/md_melting.py"


rule atomic_graphs:
    input:
        snapshots="results/md/{material}/T{temperature}/snapshots.npz",
    output:
        "results/graphs/atomic/{material}/T{temperature}.pt",
    params:
        interface_width_A=config["graphs"]["interface_width_A"],
        cluster_size_A=config["graphs"]["cluster_size_A"],
        lattice=lambda wc: config["materials"][wc.material]["lattice"],
    log:
        "results/logs/md/atomic_graphs/{material}_T{temperature}.log",
    benchmark:
        "results/benchmarks/md/atomic_graphs/{material}_T{temperature}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=5,
    conda:
        "../envs/md.yaml"
    script:
        "../workflow_scripts/atomic_graphs.py"

