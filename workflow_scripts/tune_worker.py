from msgnn.learn.tune import run_worker, storage_for
from msgnn.workflow.script import run_script


def main(sm):
    # params.tune leaves out the scheduling keys (rules/tune.smk): they come from the config
    tune_cfg = {**sm.config["tune"], **dict(sm.params.tune)}
    tune_cfg["storage"] = storage_for(tune_cfg["storage"], sm.params.model)
    run_worker(sm.input.samples, sm.input.splits, sm.output.summary, model=sm.params.model,
               train_cfg=dict(sm.params.train), tune_cfg=tune_cfg, seed=int(sm.params.seed),
               worker=sm.params.worker, lock_dir=sm.params.lock_dir, threads=sm.threads)


run_script(snakemake, main)  # noqa: F821
