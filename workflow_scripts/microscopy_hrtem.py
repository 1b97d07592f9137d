"""Snakemake adapter: the last MD snapshot of a condition -> synthetic HRTEM + HAADF-STEM micrographs (abTEM),
lattice-fringe segmentation and its accuracy against the MD labels, per-cluster crystallinity; the run time
per image goes to the timing output (under results/benchmarks/, which differs between runs)."""
from pathlib import Path

from msgnn.graphs.settings import GraphSettings
from msgnn.microscopy.hrtem import OUTPUT_FILES, MicrographSettings, process_hrtem_condition
from msgnn.workflow.script import run_script


def main(sm):
    out_dir = Path(sm.output.measurements).parent
    for key, name in OUTPUT_FILES.items():      # the rule's outputs are the files the function writes
        assert Path(sm.output[key]) == out_dir / name, (key, sm.output[key])
    settings = MicrographSettings.from_dict({**dict(sm.params.settings), "threads": int(sm.threads)})
    process_hrtem_condition(sm.input.snapshots, out_dir, settings, seed=int(sm.params.seed),
                            graphs=GraphSettings.from_dict(sm.params.graphs),
                            material=sm.wildcards.material, temperature_K=int(sm.wildcards.temperature),
                            timing_json=sm.output.timing)


run_script(snakemake, main)  # noqa: F821
