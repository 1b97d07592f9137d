"""Snakemake adapter: a slab run at the coexistence Tm (melting_point.json) -> run.json + snapshots.npz
of the stationary crystal-liquid interface."""
from msgnn.io import read_json_object
from msgnn.md.settings import InterfaceSettings, Material, SlabSettings
from msgnn.md.slab import simulate
from msgnn.workflow.script import run_script


def main(sm):
    tm = read_json_object(sm.input.melting_point)["melting_point_K"]
    interface = InterfaceSettings.from_dict(sm.params.interface)
    md = SlabSettings.from_dict(sm.params.md).replace(snapshots=interface.snapshots)
    simulate(sm.wildcards.material, Material.from_dict(sm.params.material), md, int(round(tm)), int(sm.params.seed),
             sm.output.run, sm.output.snapshots, checkpoint_dir=sm.params.checkpoint_dir)


run_script(snakemake, main)  # noqa: F821
