# Microscopy: per growth condition, real micrographs (config microscopy.real_images / real_series) or synthetic
# JMAK micrographs simulated from the MD kinetics -> grain segmentation -> facet graphs and
# measurements; plus a segmentation-accuracy study on synthetic images with known labels.
from msgnn.workflow.config import condition_seed


rule microscopy_condition:
    input:
        unpack(real_or_md_input("microscopy", "real_images", "real_series")),
    output:
        images=directory("results/microscopy/{material}/T{temperature}/images"),
        facets="results/microscopy/{material}/T{temperature}/facets.pt",
        measurements="results/microscopy/{material}/T{temperature}/measurements.json",
        figure=report(
            "results/microscopy/{material}/T{temperature}/segmentation.png",
            category="Microscopy",
            subcategory="{material}",
        ),
    params:
        # this rule's settings only (real files are inputs; hrtem and the accuracy study have their
        # own rules), so that changing another rule's settings reruns nothing here
        settings=SETTINGS.microscopy_condition.to_dict(),
        real_images=real_files("microscopy", "real_images"),
        real_series=lambda wc: config["microscopy"]["real_series"].get(f"{wc.material}/{wc.temperature}"),
        nucleation=SETTINGS.nucleation.to_dict(),
        melting_point_K=lambda wc: config["materials"][wc.material]["reference_melting_point_K"],
        seed=lambda wc: condition_seed(config, "microscopy", wc.material, wc.temperature),
    log:
        "results/logs/microscopy/{material}_T{temperature}.log",
    benchmark:
        "results/benchmarks/microscopy/{material}_T{temperature}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/microscopy.yaml"
    script:
        "../workflow_scripts/microscopy_condition.py"


rule microscopy_accuracy:
    output:
        accuracy="results/microscopy/segmentation_accuracy.json",
        figure=report(
            "results/microscopy/segmentation_accuracy.png",
            category="Microscopy",
        ),
    params:
        settings=SETTINGS.microscopy_accuracy.to_dict(),
        seed=condition_seed(config, "microscopy_accuracy"),
    log:
        "results/logs/microscopy/accuracy.log",
    benchmark:
        "results/benchmarks/microscopy/accuracy.tsv"
    threads: 1
    priority: -2   # independent of the MD: fills a core beside the dataset chain and tuning
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/microscopy.yaml"
    script:
        "../workflow_scripts/microscopy_accuracy.py"


rule microscopy_hrtem:
    # atomic-resolution HRTEM (multislice) and HAADF-STEM (PRISM) images of the MD snapshots with
    # abTEM, lattice-fringe segmentation into crystalline / disordered domains scored against the
    # MD solid labels, and the per-cluster crystallinity of the nanoscale (rho = 10) clusters
    input:
        snapshots=primary_snapshots,
    output:
        hrtem="results/microscopy/{material}/T{temperature}/hrtem/hrtem.tif",
        haadf="results/microscopy/{material}/T{temperature}/hrtem/haadf.tif",
        mask="results/microscopy/{material}/T{temperature}/hrtem/hrtem_crystalline.tif",
        measurements="results/microscopy/{material}/T{temperature}/hrtem/measurements.json",
        clusters="results/microscopy/{material}/T{temperature}/hrtem/cluster_crystallinity.pt",
        figure=report(
            "results/microscopy/{material}/T{temperature}/hrtem/hrtem.png",
            category="Microscopy",
            subcategory="{material}",
        ),
        timing="results/benchmarks/microscopy/hrtem/{material}_T{temperature}_images.json",
    params:
        settings=SETTINGS.hrtem.to_dict(),
        graphs=SETTINGS.graphs.to_dict(),
        seed=lambda wc: condition_seed(config, "microscopy_hrtem", wc.material, wc.temperature),
    log:
        "results/logs/microscopy/hrtem/{material}_T{temperature}.log",
    benchmark:
        "results/benchmarks/microscopy/hrtem/{material}_T{temperature}.tsv"
    threads: 1
    priority: 10   # a minute per condition, late in the DAG: started as soon as its MD is done
    resources:
        mem_mb=2500,
        runtime=20,
    conda:
        "../envs/microscopy.yaml"
    script:
        "../workflow_scripts/microscopy_hrtem.py"
