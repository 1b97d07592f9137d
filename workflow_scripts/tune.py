from msgnn.tune import run_tuning, storage_for
from msgnn.workflow import run_script


def main(sm):
    tune_cfg = dict(sm.params.tune)
    tune_cfg["storage"] = storage_for(tune_cfg["storage"], sm.params.model)
    run_tuning(sm.input.samples, sm.input.splits, sm.output.best_params, sm.output.history,
               model=sm.params.model, train_cfg=dict(sm.params.train), tune_cfg=tune_cfg,
               seed=int(sm.params.seed), threads=sm.threads)


run_script(snakemake, main)  # noqa: F821
