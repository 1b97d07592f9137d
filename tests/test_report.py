import json

import pandas as pd
import pytest

from msgnn.workflow import report


def _metrics(rmse):
    return {"rmse": dict(zip(report.TARGETS, rmse)), "ci95": {t: [0.1, 0.3] for t in report.TARGETS}}


def test_improvement_is_against_the_better_baseline():
    models = {"msgnn": _metrics([0.8, 0.8, 0.8]), "mlp": _metrics([1.0, 2.0, 1.0]), "svr": _metrics([2.0, 1.0, 1.0])}
    assert report.improvement_percent(models) == pytest.approx(20.0)
    assert report.improvement_percent({"msgnn": _metrics([1, 1, 1])}) is None


def test_build_writes_metrics_table_and_figures(tmp_path):
    train, tune, out = tmp_path / "train", tmp_path / "tune", tmp_path / "report"
    for i, name in enumerate(["msgnn", "msgnn_tuned", "mlp_tuned", "svr_tuned", "mean"]):
        (train / name).mkdir(parents=True)
        (train / name / "metrics.json").write_text(json.dumps(_metrics([0.5 + i, 0.6 + i, 0.7 + i])))
        pd.DataFrame({"condition": ["Al/800"] * 3, "target": report.TARGETS,
                      "true": [1.0, 2.0, 3.0], "predicted": [1.1, 2.2, 2.9]}).to_csv(train / name / "predictions.csv")
    tune.mkdir()
    pd.DataFrame({"trial": [0, 1, 2], "value": [1.0, 0.5, 0.7]}).to_csv(tune / "history.csv")
    (tune / "best_params.json").write_text(json.dumps({"lr": 0.01}))
    kin = tmp_path / "kinetics.json"
    kin.write_text(json.dumps({"material": "Al", "reference_melting_point_K": 926,
                               "velocities": [{"temperature_K": 800, "velocity_m_per_s": 30, "stderr_m_per_s": 2}],
                               "orientations": {"100": {"mu_m_per_s_per_K": 0.3, "ci95": [0.2, 0.4]}},
                               "melting_point_from_velocity": {"melting_point_K": 941.0, "uncertainty_K": 4.0}}))
    melt = tmp_path / "melting.json"
    melt.write_text(json.dumps({"material": "Al", "potential": "Al_mm.eam.fs", "melting_point_K": 930.0,
                                "uncertainty_K": 5.0, "published_K": 926}))
    acc = tmp_path / "acc.json"
    rows = [{"noise": n, "boundary_f1": f, "grain_count_error": 0.04, "mean_size_error": 0.01,
             "mean_diameter_error": 0.05, "facet_growth_error": 0.007, "n_images": 16} for n, f in ((0.02, 0.99), (0.08, 0.93))]
    acc.write_text(json.dumps({"default_noise": rows[1], "by_noise": rows, "grains_per_image": 50, "image_px": 256}))
    rec = tmp_path / "rec.json"
    rec.write_text(json.dumps({"default_noise": {"growth_rate_error": 0.01}, "by_noise": []}))
    nuc = tmp_path / "nucleation.json"
    nuc.write_text(json.dumps({"material": "Al", "reference_melting_point_K": 926, "temperatures": [
        {"temperature_K": 510, "replicas": 8, "n_events": 3, "J_per_m3_s": 2.5e35, "J_ci95": [5e34, 7e35],
         "critical_cluster_size": 61.0},
        {"temperature_K": 560, "replicas": 8, "n_events": 0, "J_per_m3_s": None, "J_upper95": 9e34}]}))
    folders = ["msgnn", "msgnn_tuned", "mlp_tuned", "svr_tuned", "mean"]
    inputs = report.ReportInputs(
        train_metrics=[train / f / "metrics.json" for f in folders],
        train_predictions=[train / f / "predictions.csv" for f in folders],
        best_params=tune / "best_params.json", history=tune / "history.csv", kinetics=[kin], melting=[melt],
        nucleation=[nuc], accuracy=acc, recovery=rec)
    metrics = report.build(inputs, out_dir=out)
    # "msgnn" in the report is the tuned model (msgnn_tuned folder, the second written above)
    assert metrics["models"]["msgnn"]["rmse"]["growth_rate"] == pytest.approx(1.5)
    assert metrics["models"]["msgnn_default"]["rmse"]["growth_rate"] == pytest.approx(0.5)
    text = (out / "report.md").read_text()
    assert "| Al | Al_mm.eam.fs | 930 |" in text and "+0.4 %" in text and "| 941 ± 4 |" in text
    assert "| Al | 510 | 0.55 | 3/8 | 2.50e+35 | [5.0e+34, 7.0e+35] | 61 |" in text
    assert "| Al | 560 | 0.60 | 0/8 | no event | < 9.0e+34 (one-sided) |" in text
    assert "| 0.08 (default) | 0.93 | 0.04 | 0.01 | 0.05 | 0.007 |" in text
    assert json.loads((out / "metrics.json").read_text())["models"]["svr"]["rmse"]["lambda"] == pytest.approx(3.7)
    assert "mlp_default" not in metrics["models"]  # only models with training outputs are reported
    assert metrics["tuning"] == {"lr": 0.01}
    for png in ("parity.png", "velocity.png", "optimisation_history.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"


def test_growth_section_says_plainly_whether_the_claim_holds():
    from msgnn.workflow.report import growth_section

    def block(ratio, hi):
        cmp = {"reference": "svr", "rmse_ratio": ratio, "ci95": [ratio - 0.1, hi], "p_value": 0.01, "n_materials": 20}
        return {"n_materials": 20, "seeds": [1, 2], "best_baseline": "svr",
                "models": {m: {"rmse": {"growth_rate": r, "ci95": [r - 1, r + 1]}, "relative_rmse_by_family": {"fcc": 0.3}}
                           for m, r in (("msgnn", 7.0), ("svr", 10.0), ("mean", 30.0))},
                "msgnn_vs_ann_svm": cmp, "msgnn_vs_best": cmp, "target_stderr_rms_m_per_s": 6.5}

    text = growth_section({"lomo": block(0.7, 0.78)}, 20)
    assert "own standard error (RMS over rows, from the replicas' scatter) is 6.5 m/s" in text
    assert "leave one material out" in text and text.count("**holds**") == 2
    assert text.index("| msgnn |") < text.index("| svr |") < text.index("| mean |")     # best first
    text = growth_section({"lomo": block(0.7, 0.85)}, 20)                               # interval reaches 0.85
    assert text.count("**does not hold**") == 2 and "more materials" in text


def test_library_section_counts_families_names_the_excluded_and_links_the_figures(tmp_path):
    from msgnn.workflow.report import library_section

    lib = tmp_path / "data" / "library"
    (lib / "figures").mkdir(parents=True)
    (lib / "figures" / "mu_vs_kinetic_scale.png").write_bytes(b"\x89PNG")
    pd.DataFrame({"material": ["Al_mm", "Fe_mm", "Cu_mishin1", "W_zhou"], "family": ["fcc", "bcc", "fcc", "bcc"],
                  "excluded": ["", None, "", "cutoff beyond half the box"]}).to_csv(lib / "materials.csv", index=False)
    text = library_section(lib / "materials.csv", tmp_path / "results" / "report")
    assert text.startswith("3 materials measured (bcc 1, fcc 2), 1 excluded")
    assert "- W_zhou: cutoff beyond half the box" in text
    assert "(../../data/library/figures/mu_vs_kinetic_scale.png)" in text and "melting_point_vs" not in text


def test_growth_studies_section_says_whether_gp_needs_fewer_trials_than_random():
    from msgnn.workflow.report import growth_studies_section

    def studies(gp, gp_seeds):
        return {"learning_curve": {"svr": {"2": 14.3, "16": 9.1}}, "learning_curve_unit": "LOMO RMSE (m/s)",
                "tuning_efficiency": {"model": "svr", "held_out": "Ag_u3", "trials": 50, "seeds": 5,
                                      "target_value": 12.5, "reference": "median best of 50 random trials",
                                      "gp": {"median_trials": gp, "seeds_reaching": gp_seeds, "overhead_s_per_trial": 0.03},
                                      "random": {"median_trials": 12.0, "seeds_reaching": "3/5", "overhead_s_per_trial": 4e-4}}}

    text = growth_studies_section(studies(30.5, "2/5"))
    assert "svr 2: 14.3, 16: 9.1" in text and "| gp | 30.5 | 2/5 | 0.03 |" in text
    assert "**does not hold**" in text
    assert "**holds**" in growth_studies_section(studies(6.0, "4/5"))
    assert "**does not hold**" in growth_studies_section(studies(6.0, "1/5"))   # fewer trials, but fewer seeds get there


def test_forecast_section_tabulates_every_target_and_model_and_says_synthetic():
    from msgnn.workflow.report import forecast_section

    def target(best, values):
        return {"models": {m: {"rmse_log10": v, "ci95": [v / 2, 2 * v]} for m, v in values.items()},
                "best": best, "n_rows": 35, "n_materials": 6}

    m = {"synthetic": True, "n_conditions": 35, "budget": {"sampler": "none: every model at its defaults"},
         "targets": {"final_nucleation_density_per_m2": target("jmak", {"mean": 3.0, "jmak": 0.05, "ridge": 0.13}),
                     "reactor_growth_rate_m_per_s": target("ridge", {"mean": 0.4, "ridge": 0.12})}}
    text = forecast_section(m)
    assert "6 materials, 35 conditions; synthetic" in text and "| target | jmak | mean | ridge | best |" in text
    assert "| final nucleation density | 0.05 [0.025, 0.1] | 3 [1.5, 6] | 0.13 [0.065, 0.26] | jmak |" in text
    assert "| reactor G |  | 0.4 [0.2, 0.8] | 0.12 [0.06, 0.24] | ridge |" in text   # jmak not run there


def test_tuning_figure_has_its_own_running_minimum_per_outer_split(tmp_path):
    """history.csv stacks the studies of the outer splits; fold1 starts worse (0.9) than fold0's
    best (0.4), so one running minimum across the table would report 0.4 for fold1's first trial."""
    h = pd.DataFrame({"split": ["group_kfold"] * 6, "fold": ["fold0"] * 3 + ["fold1"] * 3,
                      "trial": [0, 1, 2, 0, 1, 2], "value": [0.5, 0.4, 0.6, 0.9, 1.0, 0.7]})
    assert list(report.best_so_far(h)) == [0.5, 0.4, 0.4, 0.9, 0.9, 0.7]
    h.to_csv(tmp_path / "history.csv", index=False)
    curves = report.history_plot(tmp_path / "history.csv", tmp_path / "h.png")
    assert list(curves) == ["group_kfold/fold0", "group_kfold/fold1"]          # one curve per fold
    assert list(curves["group_kfold/fold1"]["best_so_far"]) == [0.9, 0.9, 0.7]
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"


def test_loss_curves_figure(tmp_path):
    rows = [{"split": "group_kfold", "fold": f"fold{k}", "epoch": e, "train_loss": 1 / (e + 1), "val_loss": 2 / (e + 1)}
            for k in range(2) for e in range(5)]
    for folder in ("msgnn", "msgnn_tuned"):
        (tmp_path / folder).mkdir()
        pd.DataFrame(rows).to_csv(tmp_path / folder / "loss_history.csv", index=False)
    report.loss_plot({"msgnn": tmp_path / "msgnn_tuned" / "loss_history.csv",
                      "msgnn_default": tmp_path / "msgnn" / "loss_history.csv"}, tmp_path / "loss.png")
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
