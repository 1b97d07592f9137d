# MD stage: crystal–liquid slabs in LAMMPS -> v(T), mu, Tm; coexistence Tm; homogeneous nucleation J(T);
# snapshots -> atomic graphs.
from msgnn.workflow.config import condition_seed


rule md_run:
    # one replica (independent seed) of one (material, interface orientation, temperature) slab
    output:
        run="results/md/{material}/{orientation}/T{temperature}/r{replica}/run.json",
        snapshots="results/md/{material}/{orientation}/T{temperature}/r{replica}/snapshots.npz",
    params:
        material=md_material,
        md=lambda wc: md_slab_settings(wc.orientation),
        seed=lambda wc: condition_seed(config, "md", wc.material, wc.orientation, wc.temperature, wc.replica),
        checkpoint_dir=md_checkpoint_dir,
    log:
        "results/logs/md/md_run/{material}_{orientation}_T{temperature}_r{replica}.log",
        # LAMMPS's own log beside the run's results (msgnn/workflow/script.py); a log, not an
        # output, so runs finished before it existed are not redone
        lammps="results/md/{material}/{orientation}/T{temperature}/r{replica}/log.lammps",
    benchmark:
        "results/benchmarks/md/md_run/{material}_{orientation}_T{temperature}_r{replica}.tsv"
    threads: 1
    # the runs the dataset waits for first; the MD-only runs (short, many) last, after the other
    # independent jobs, so they fill the second core while tuning runs (docs/ARCHITECTURE.md, "Job order")
    priority: lambda wc: 5 if (wc.material, int(wc.temperature)) in GROWTH and wc.orientation == md_orientations(wc.material)[0] else -10
    resources:
        mem_mb=1500,
        runtime=30,
    conda:
        "../envs/md.yaml"
    script:
        "../workflow_scripts/md_run.py"


rule md_condition:
    # the condition's MD result used downstream: replica mean and standard error of v at the
    # primary orientation (replica records kept under "replicas")
    input:
        runs=lambda wc: md_replica_runs(wc.material, md_orientations(wc.material)[0], wc.temperature),
    output:
        run="results/md/{material}/T{temperature}/run.json",
    log:
        "results/logs/md/md_condition/{material}_T{temperature}.log",
    benchmark:
        "results/benchmarks/md/md_condition/{material}_T{temperature}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/md.yaml"
    script:
        "../workflow_scripts/md_condition.py"


rule md_kinetics:
    input:
        runs=lambda wc: [run for o in md_orientations(wc.material) for t in material_temperatures(wc.material)
                         for run in md_replica_runs(wc.material, o, t)],
    output:
        kinetics="results/md/{material}/kinetics.json",
        plot=report("results/md/{material}/velocity_vs_temperature.png", category="MD",
                    subcategory="{material}", labels={"material": "{material}", "figure": "v(T)"}),
    params:
        material=md_material,
        kinetics=SETTINGS.md_kinetics.to_dict(),
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
        material=md_material,
        md=lambda wc: md_slab_settings(md_orientations(wc.material)[0]),
        melting=SETTINGS.md_melting.to_dict(),
        seed=lambda wc: condition_seed(config, "md_melting", wc.material),
    log:
        "results/logs/md/md_melting/{material}.log",
    benchmark:
        "results/benchmarks/md/md_melting/{material}.tsv"
    threads: 1
    priority: 20   # heads the chain melting -> interface, descriptors: started before the slab replicas
    resources:
        mem_mb=1500,
        runtime=30,
    conda:
        "../envs/md.yaml"
    script:
        "../workflow_scripts/md_melting.py"


rule md_nucleation:
    # homogeneous nucleation: independent melt-quench-hold replicas per temperature, run one after
    # another; finished replicas are kept in nucleation_partial/ so a killed job resumes (that
    # folder is deleted once the outputs are written). Materials without
    # nucleation_temperatures_K still get a nucleation.json (empty "rates", a "note" saying so).
    output:
        nucleation="results/md/{material}/nucleation.json",
        plot=report("results/md/{material}/nucleation.png", category="MD", subcategory="{material}",
                    labels={"material": "{material}", "figure": "nucleation rate J(T)"}),
    params:
        material=md_material,
        temperatures=lambda wc: config["materials"][wc.material]["nucleation_temperatures_K"],
        nucleation=SETTINGS.md_nucleation.to_dict(),
        seed=lambda wc: condition_seed(config, "md_nucleation", wc.material),
        partial_dir="results/md/{material}/nucleation_partial",
    log:
        "results/logs/md/md_nucleation/{material}.log",
    benchmark:
        "results/benchmarks/md/md_nucleation/{material}.tsv"
    threads: 1
    priority: 30   # the longest single jobs (minutes each), started first so no core idles at the end
    resources:
        mem_mb=1500,
        runtime=60,
    conda:
        "../envs/md.yaml"
    script:
        "../workflow_scripts/md_nucleation.py"


rule atomic_graphs:
    input:
        snapshots=primary_snapshots,
    output:
        "results/graphs/atomic/{material}/T{temperature}.pt",
    params:
        graphs=SETTINGS.graphs.to_dict(),
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



rule md_descriptors:
    # a material's cheap descriptors from short bulk runs at its coexistence Tm (msgnn/md/bulk.py):
    # crystal and liquid volumes, latent heat, the liquid's g(r) and D(T), the solid/liquid
    # classifier's accuracy on both; nothing from a growth run
    input:
        melting_point=rules.md_melting.output.melting_point,
    output:
        descriptors="results/md/{material}/descriptors.json",
        plot=report("results/md/{material}/descriptors.png", category="MD", subcategory="{material}",
                    labels={"material": "{material}", "figure": "g(r), D(T)"}),
    params:
        material=md_material,
        bulk=SETTINGS.md_bulk.to_dict(),
        temperatures=lambda wc: material_temperatures(wc.material),
        melt_temperature_factor=SETTINGS.md_slab.melt_temperature_factor,
        barostat_damp_ps=SETTINGS.md_slab.barostat_damp_ps,
        seed=lambda wc: condition_seed(config, "md_descriptors", wc.material),
    log:
        "results/logs/md/md_descriptors/{material}.log",
    benchmark:
        "results/benchmarks/md/md_descriptors/{material}.tsv"
    threads: 1
    priority: 15
    resources:
        mem_mb=1500,
        runtime=30,
    conda:
        "../envs/md.yaml"
    script:
        "../workflow_scripts/md_descriptors.py"


rule md_interface:
    # the stationary crystal-liquid interface at the coexistence Tm, per orientation: a slab run
    # (msgnn/md/slab.py) at Tm whose snapshots are the model's atomic-scale input; its velocity,
    # ~0 if Tm is right, is a check of Tm, not an input
    input:
        melting_point=rules.md_melting.output.melting_point,
    output:
        run="results/md/{material}/{orientation}/interface/run.json",
        snapshots="results/md/{material}/{orientation}/interface/snapshots.npz",
    params:
        material=md_material,
        md=lambda wc: md_slab_settings(wc.orientation),
        interface=SETTINGS.md_interface.to_dict(),
        seed=lambda wc: condition_seed(config, "md_interface", wc.material, wc.orientation),
        checkpoint_dir=md_checkpoint_dir,
    log:
        "results/logs/md/md_interface/{material}_{orientation}.log",
        lammps="results/md/{material}/{orientation}/interface/log.lammps",
    benchmark:
        "results/benchmarks/md/md_interface/{material}_{orientation}.tsv"
    threads: 1
    priority: 15
    resources:
        mem_mb=1500,
        runtime=30,
    conda:
        "../envs/md.yaml"
    script:
        "../workflow_scripts/md_interface.py"


rule md_export:
    # a run in files a person opens: the snapshots as extended XYZ (OVITO, ASE) with the per-atom
    # columns of the npz, and the LAMMPS input script (from run.json) as in.lammps. A rule of its
    # own so that the MD rules' outputs, and the finished runs, stay as they are.
    input:
        run=rules.md_run.output.run,
        snapshots=rules.md_run.output.snapshots,
    output:
        extxyz="results/md/{material}/{orientation}/T{temperature}/r{replica}/snapshots.extxyz",
        input_script="results/md/{material}/{orientation}/T{temperature}/r{replica}/in.lammps",
    log:
        "results/logs/md/md_export/{material}_{orientation}_T{temperature}_r{replica}.log",
    benchmark:
        "results/benchmarks/md/md_export/{material}_{orientation}_T{temperature}_r{replica}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/md.yaml"
    script:
        "../workflow_scripts/md_export.py"


rule md_interface_export:
    # the same for the interface run at Tm
    input:
        run=rules.md_interface.output.run,
        snapshots=rules.md_interface.output.snapshots,
    output:
        extxyz="results/md/{material}/{orientation}/interface/snapshots.extxyz",
        input_script="results/md/{material}/{orientation}/interface/in.lammps",
    log:
        "results/logs/md/md_interface_export/{material}_{orientation}.log",
    benchmark:
        "results/benchmarks/md/md_interface_export/{material}_{orientation}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/md.yaml"
    script:
        "../workflow_scripts/md_export.py"
