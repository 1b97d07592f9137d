"""Snakemake adapter: NPH solid–liquid coexistence replicas -> melting_point.json + T(t) plot."""
from msgnn.md.melting import write_melting_point
from msgnn.workflow.script import run_script


def main(sm):
    write_melting_point(sm.wildcards.material, dict(sm.params.material), dict(sm.params.md),
                        dict(sm.params.melting), int(sm.params.seed), sm.output.melting_point,
                        plot_png=sm.output.plot)


run_script(snakemake, main)  # noqa: F821
