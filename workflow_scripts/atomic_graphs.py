"""Snakemake adapter: MD snapshots -> atomic + nanoscale-cluster graphs (.pt)."""
from msgnn.graphs.atomic import write_atomic_graphs
from msgnn.workflow.script import run_script


def main(sm):
    write_atomic_graphs(sm.input.snapshots, sm.output[0], interface_width_A=float(sm.params.interface_width_A),
                        cluster_size_A=float(sm.params.cluster_size_A), lattice=sm.params.lattice)


run_script(snakemake, main)  # noqa: F821
