"""Snakemake adapter: every library material's MD results -> data/library/ tables, interfaces, figures."""
from msgnn.md.library import collect, plot_library
from msgnn.md.settings import Material
from msgnn.workflow.script import run_script


def main(sm):
    p = sm.params
    inputs = {m: {"melting": sm.input[f"{m}_melting"], "descriptors": sm.input[f"{m}_descriptors"],
                  "kinetics": sm.input[f"{m}_kinetics"], "growth_snapshots": p.growth[m],
                  "interfaces": {o: tuple(files) for o, files in p.interfaces[m].items()}} for m in p.library}
    tables = collect({m: Material.from_dict(d) for m, d in p.materials.items()}, inputs, dict(p.excluded),
                     sm.output.materials.rsplit("/", 1)[0], provenance_files=p.provenance)
    plot_library(tables, sm.output.mu_plot, sm.output.tm_plot)


run_script(snakemake, main)  # noqa: F821
