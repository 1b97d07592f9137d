from msgnn.microscopy import accuracy_study
from msgnn.workflow.script import run_script


def main(sm):
    accuracy_study(
        noise_levels=list(sm.params.noise_levels), default_noise=sm.params.default_noise,
        image_px=sm.params.image_px, grains_per_image=sm.params.grains_per_image,
        n_images=sm.params.n_images, blur_px=sm.params.blur_px, seed=sm.params.seed,
        series_frames=sm.params.series_frames,
        out_json=sm.output.accuracy, out_figure=sm.output.figure)


run_script(snakemake, main)  # noqa: F821
