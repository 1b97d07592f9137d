"""Snakemake adapter: one MD crystal–liquid slab replica -> run.json + snapshots.npz (resumes from its checkpoint)."""
from msgnn.md.settings import Material, SlabSettings
from msgnn.md.slab import simulate
from msgnn.workflow.script import run_script


def main(sm):
    simulate(sm.wildcards.material, Material.from_dict(sm.params.material), SlabSettings.from_dict(sm.params.md),
             int(sm.wildcards.temperature), int(sm.params.seed), sm.output.run, sm.output.snapshots,
             checkpoint_dir=sm.params.checkpoint_dir)


run_script(snakemake, main)  # noqa: F821
