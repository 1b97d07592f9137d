from msgnn.learn.dataset import ConditionInputs, build_dataset
from msgnn.workflow.script import run_script


def main(sm):
    inputs = [ConditionInputs(material=m, temperature_K=int(t), melting_point_K=float(tm),
                              atomic_graphs=a, facets=f, measurements=me, reactor=r, md_run=md,
                              hrtem_clusters=h)
              for (m, t, tm), a, f, me, r, md, h in zip(sm.params.conditions, sm.input.atomic,
                                                         sm.input.facets, sm.input.measurements,
                                                         sm.input.reactor, sm.input.md_run, sm.input.hrtem)]
    build_dataset(inputs, sm.output.samples, sm.output.targets, sm.output.splits,
                  folds=sm.params.folds, seed=sm.params.seed)


run_script(snakemake, main)  # noqa: F821
