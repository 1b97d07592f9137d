"""The macroscale forecast (msgnn.learn.forecast, docs/learning_task.md) on a library written from
a known law (test_growth_task.write_library): one synthetic row per condition below Tm, inputs
that never see the late observations, permuted targets learn nothing, the JMAK baseline and the
learned models beat the mean under leave-one-material-out; the MS-GNN reads the early frame's
facet graph itself."""
import numpy as np
import pandas as pd
import pytest
import torch
from test_growth_task import write_library

from msgnn.kinetics import ClassicalNucleation
from msgnn.learn import forecast, lomo
from msgnn.reactor.settings import LogGenerator

NUC, REACTOR = ClassicalNucleation.defaults(), LogGenerator.defaults()
TRUTH = forecast.ForecastSettings(reactor_fit=False)     # the generator's G, B0: no log fit in most tests
TARGETS = [t.name for t in forecast.TARGETS]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return write_library(tmp_path_factory.mktemp("lib"))


@pytest.fixture(scope="module")
def table_and_graphs(library):
    graphs = {}
    return forecast.forecast_table(library, TRUTH, REACTOR, NUC, seed=0, graphs=graphs), graphs


@pytest.fixture(scope="module")
def table(table_and_graphs):
    return table_and_graphs[0]


@pytest.fixture(scope="module")
def graphs(table_and_graphs):
    return table_and_graphs[1]


def test_one_synthetic_row_per_condition_below_tm_at_the_primary_orientation(table):
    assert len(table) == 10 * 6 and not table.attrs["skipped"]          # 6 of the 8 temperatures are below Tm
    assert table["synthetic"].eq(True).all()
    assert (table["orientation"] == table["family"].map(forecast.PRIMARY)).all()
    assert (table["temperature_K"] < table["melting_point_K"]).all()
    assert np.isfinite(table[forecast.FEATURES].to_numpy(float)).all()
    assert (table[TARGETS] > 0).all().all()
    assert table["true_early_fraction"].max() < 0.15                   # the early frame: ~10 % at most
    assert table.attrs["seconds_per_condition"] < 5


def test_the_documented_inputs_are_the_code_s_inputs():
    from conftest import ROOT
    assert forecast.inputs_markdown() in (ROOT / "docs" / "learning_task.md").read_text()


def test_no_input_is_read_from_the_late_observations():
    for i in forecast.INPUTS:
        text = f"{i.file} {i.read_as} {i.run}"
        assert not any(s in text for s in forecast.FORBIDDEN_SOURCES), i
    assert not set(forecast.FEATURES) & set(TARGETS) and "velocity_m_per_s" not in forecast.FEATURES
    assert all(any(s in f"{t.file} {t.run}" for s in forecast.FORBIDDEN_SOURCES) for t in forecast.TARGETS)


def test_rewriting_the_final_micrographs_and_the_reactor_changes_no_input(library, table, graphs, monkeypatch):
    render, truth = forecast.render_series, forecast.msmpr_truth

    def other_final(m, times, rng, **kw):       # the final frame replaced by another micrograph
        frames = render(m, times, rng, **kw)
        frames[-1] = np.random.default_rng(7).permutation(frames[-1].ravel()).reshape(frames[-1].shape)
        return frames

    def other_reactor(*a, **kw):
        t = truth(*a, **kw)
        return {**t, "growth_rate_m_per_s": 10 * t["growth_rate_m_per_s"],
                "nucleation_rate_per_m3_s": 0.1 * t["nucleation_rate_per_m3_s"]}

    monkeypatch.setattr(forecast, "render_series", other_final)
    monkeypatch.setattr(forecast, "msmpr_truth", other_reactor)
    graphs_after = {}
    after = forecast.forecast_table(library, TRUTH, REACTOR, NUC, seed=0, graphs=graphs_after)
    cols = forecast.KEY + forecast.FEATURES
    pd.testing.assert_frame_equal(table[cols], after[cols])
    assert graphs_after.keys() == graphs.keys()                        # nor the MS-GNN's facet graphs
    for k, g in graphs.items():
        for name in ("facet_x", "facet_edge_index", "facet_edge_attr"):
            assert torch.equal(g[name], graphs_after[k][name]), (k, name)
    for t in TARGETS:
        assert not np.allclose(table[t], after[t]), t


@pytest.fixture(scope="module")
def lomo_predictions(table):
    return forecast.evaluate(table, ["mean", "jmak", "ridge"], seeds=[0], budget=lomo.Budget(trials=3, inner_folds=3))


def test_leave_one_material_out_beats_the_mean(table, lomo_predictions):
    pred = lomo_predictions
    for (target, held), g in pred.groupby(["target", "held_out"]):      # a material is predicted only when held out
        assert set(g["material"]) == {held}
    assert set(pred["held_out"]) == set(table["material"])
    s = forecast.summarise(pred)
    assert set(s) == set(TARGETS)
    for target, r in s.items():
        m = {k: v["rmse_log10"] for k, v in r["models"].items()}
        assert m["jmak"] < 0.3 * m["mean"] and m["ridge"] < 0.5 * m["mean"], (target, m)
        lo, hi = r["models"]["jmak"]["ci95"]
        assert lo <= m["jmak"] <= hi and r["n_materials"] == 10


def test_the_facet_level_alone_reads_each_row_s_early_facet_graph_and_beats_the_mean(table, graphs):
    """model msgnn_facets: MSGNN(levels=("facet",)) on the early frame's facet graph with the scalar inputs
    as conditions, tuned like ridge/gbt (lomo.tune, the GNN search space); a held-out material's
    predictions are finite and beat the mean on the final nucleation density."""
    from msgnn.learn.forecast_gnn import ForecastGNN, early_samples

    assert set(graphs) == {forecast.row_key(r) for _, r in table.iterrows()}
    assert all(g["facet_x"].shape[0] > 0 and g["facet_x"].shape[1] == len(forecast.FACET_FEATURES)
               for g in graphs.values())
    samples = early_samples(graphs)
    assert all(s["atom"].x.shape[0] == 0 and s["cluster"].x.shape[0] == 0 for s in samples.values())
    target = "final_nucleation_density_per_m2"
    pred = forecast.evaluate(table, ["mean", "msgnn_facets"], seeds=[0], targets=[target], graphs=graphs,
                             budget=lomo.Budget(trials=1, inner_folds=2, gnn_epochs=60))
    g = pred[pred["model"] == "msgnn_facets"]
    assert np.isfinite(g["log10_predicted"]).all() and set(g["held_out"]) == set(table["material"])
    assert (g["material"] == g["held_out"]).all() and g["params"].str.contains("'epochs': 60").all()
    m = {k: v["rmse_log10"] for k, v in forecast.summarise(pred)[target]["models"].items()}
    assert m["msgnn_facets"] < 0.3 * m["mean"], m
    with pytest.raises(ValueError, match="facet graphs"):
        forecast.evaluate(table, ["msgnn_facets"], targets=[target])
    # the facet level is read: the same rows with other facet graphs give other predictions
    df = forecast._lomo_frame(table, target)
    params = {"hidden": 16, "layers_per_scale": 1, "attention_dim": 8, "lr": 3e-3, "weight_decay": 1e-5, "epochs": 20}
    fitted = ForecastGNN(params, samples, forecast.FEATURES, 0).fit(df)
    keys = list(samples)
    fitted.samples = {k: samples[keys[i]] for k, i in zip(keys, np.random.default_rng(0).permutation(len(keys)))}
    assert not np.allclose(fitted.predict(df), ForecastGNN(params, samples, forecast.FEATURES, 0).fit(df).predict(df))


def test_permuted_targets_score_no_better_than_the_mean(table):
    rng = np.random.default_rng(3)
    perm = table.assign(**{t: rng.permutation(table[t].to_numpy()) for t in TARGETS})
    pred = forecast.evaluate(perm, ["mean", "ridge", "gbt"], seeds=[0], budget=lomo.Budget(trials=3, inner_folds=3),
                             targets=TARGETS[::3])
    for target, r in forecast.summarise(pred).items():
        m = {k: v["rmse_log10"] for k, v in r["models"].items()}
        assert min(m["ridge"], m["gbt"]) > 0.95 * m["mean"], (target, m)


def test_the_reactor_targets_can_come_from_a_fitted_log():
    run = {"velocity_m_per_s": 2.0, "latent_heat_eV_per_atom": 0.12, "atomic_volume_m3": 1.2e-29}
    r = forecast.reactor_targets(run, 1150.0, 1300.0, REACTOR, NUC, fit=True, seed=1)
    assert r["reactor_growth_rate_m_per_s"] == pytest.approx(r["truth_growth_rate_m_per_s"], rel=0.1)
    assert r["reactor_nucleation_rate_per_m3_s"] == pytest.approx(r["truth_nucleation_rate_per_m3_s"], rel=0.3)
    assert r["reactor_growth_rate_m_per_s"] != r["truth_growth_rate_m_per_s"]


def test_the_workflow_runs_the_forecast_task_on_a_library_folder(tmp_path):
    """`snakemake forecast_all` reads the library named by forecast_task.library and writes the
    synthetic table, the held-out predictions and the metrics under results/forecast/."""
    import json
    import yaml

    from conftest import ROOT, SNAKEMAKE, run

    write_library(tmp_path / "lib")
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["forecast_task"] = {"library": "lib", "models": ["mean", "jmak"], "seeds": 1, "trials": 1,
                            "inner_folds": 2, "image_px": 96, "grains_per_image": 20, "reactor_fit": False}
    (tmp_path / "override.yaml").write_text(yaml.safe_dump(cfg))
    run([*SNAKEMAKE, "--directory", tmp_path, "--configfile", "override.yaml", "--cores", "1", "forecast_all"], cwd=tmp_path)
    m = json.loads((tmp_path / "results/forecast/metrics.json").read_text())
    assert m["synthetic"] is True and m["n_conditions"] == 60 and set(m["targets"]) == set(TARGETS)
    assert all(set(r["models"]) == {"mean", "jmak"} for r in m["targets"].values())
    table = pd.read_csv(tmp_path / "results/forecast/table.csv")
    assert table["synthetic"].all() and len(pd.read_csv(tmp_path / "results/forecast/predictions.csv")) == 4 * 2 * 60


def test_the_three_level_ms_gnn_reads_the_interface_and_the_early_frame(library, table, graphs):
    """model msgnn: each row joins its material's interface at Tm (atoms, clusters) with its early
    frame's facets, with cross-scale attention between them; msgnn_noattention drops the attention.
    Both beat the mean on a held-out material; the prediction moves with the interface graphs and
    with the facet graphs; without attention the facets still count (through their pooling)."""
    from msgnn.graphs.settings import GraphSettings
    from msgnn.learn.forecast_gnn import ForecastMSGNN, early_samples
    from msgnn.learn.growth_gnn import interface_graphs

    interfaces = interface_graphs(library, sorted(set(zip(table["material"], table["orientation"]))),
                                  GraphSettings(interface_width_A=8.0, cluster_size_A=5.0))
    target = "final_nucleation_density_per_m2"
    pred = forecast.evaluate(table, ["mean", "msgnn", "msgnn_noattention"], seeds=[0], targets=[target], graphs=graphs,
                             interfaces=interfaces, budget=lomo.Budget(trials=0, gnn_epochs=40))
    m = {k: v["rmse_log10"] for k, v in forecast.summarise(pred)[target]["models"].items()}
    assert m["msgnn"] < 0.3 * m["mean"] and m["msgnn_noattention"] < 0.3 * m["mean"], m
    assert pred[pred["model"] == "msgnn_noattention"]["params"].str.contains("'cross_attention': False").all()
    with pytest.raises(ValueError, match="interface graphs"):
        forecast.evaluate(table, ["msgnn"], targets=[target], graphs=graphs)

    df = forecast._lomo_frame(table, target)
    samples = early_samples(graphs)
    params = {"hidden": 16, "layers_per_scale": 1, "attention_dim": 8, "lr": 3e-3, "weight_decay": 1e-5, "epochs": 15}
    fitted = ForecastMSGNN(params, samples, interfaces, forecast.FEATURES, 0).fit(df)
    base = fitted.predict(df)
    keys = list(interfaces)
    fitted.interfaces = {k: fitted.interfaces[keys[(i + 1) % len(keys)]] for i, k in enumerate(keys)}   # other atoms
    assert not np.allclose(fitted.predict(df), base)
    fitted = ForecastMSGNN(params, samples, interfaces, forecast.FEATURES, 0).fit(df)
    rows = list(samples)
    fitted.samples = {k: samples[rows[i]] for k, i in zip(rows, np.random.default_rng(0).permutation(len(rows)))}
    assert not np.allclose(fitted.predict(df), base)                                                  # other facets
