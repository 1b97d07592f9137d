"""Snakemake adapter: MD snapshots -> atomic + nanoscale-cluster graphs (.pt)."""
from msgnn.graphs.atomic import write_atomic_graphs
from msgnn.graphs.settings import GraphSettings
from msgnn.workflow.script import run_script


def main(sm):
    write_atomic_graphs(sm.input.snapshots, sm.output[0], GraphSettings.from_dict(sm.params.graphs),
                        lattice=sm.params.lattice)


run_script(snakemake, main)  # noqa: F821
