"""The growth task's dataset (msgnn.learn.growth) and its nested leave-one-material-out evaluation
(msgnn.learn.lomo) on library tables written here from a known law (the real library's tables are
made and checked in test_library.py): no input comes from the growth runs, permuted targets
learn nothing, and a law in the inputs is learned."""
import numpy as np
import pandas as pd
import pytest
import torch

from msgnn.learn import growth, lomo

FAMILIES = ["fcc", "fcc", "fcc", "bcc", "bcc", "hcp", "diamond", "diamond", "fcc", "bcc"]
ORIENT = {"fcc": ["100", "111"], "bcc": ["100", "111"], "hcp": ["0001", "10-10"], "diamond": ["100", "111"]}
FRACTIONS = [0.86, 0.89, 0.92, 0.94, 0.96, 0.98, 1.02, 1.04]


def write_interface(path, rng, a=3.6, n=3):
    """A small stationary-interface snapshots.npz: an fcc crystal block (n x n x 4 cells) between two
    liquid layers of random positions, two snapshots."""
    base = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    cells = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(4)], float)
    crystal = ((cells[:, None] + base[None]).reshape(-1, 3) + [0, 0, 2]) * a
    L = np.array([n * a, n * a, 8 * a])
    frames = []
    for _ in range(2):
        liquid = rng.uniform(0, 1, (len(crystal), 3)) * [L[0], L[1], 4 * a]
        liquid[:, 2] = np.where(liquid[:, 2] < 2 * a, liquid[:, 2], liquid[:, 2] + 4 * a)
        frames.append(np.vstack([crystal + rng.normal(0, 0.05, crystal.shape), liquid]))
    N, solid = 2 * len(crystal), np.r_[np.ones(len(crystal), bool), np.zeros(len(crystal), bool)]
    np.savez_compressed(path, positions_A=np.array(frames, np.float32), cell_A=np.tile(np.diag(L), (2, 1, 1)).astype(np.float32),
                        time_ps=np.array([0.0, 1.0], np.float32), structure_type=np.tile(np.where(solid, 1, 0), (2, 1)).astype(np.int8),
                        solid=np.tile(solid, (2, 1)), pe_eV=np.tile(np.where(solid, -3.5, -3.4), (2, 1)).astype(np.float32),
                        coordination=np.tile(np.where(solid, 12, 10), (2, 1)).astype(np.int16),
                        q6=np.tile(np.where(solid, 0.5, 0.3), (2, 1)).astype(np.float32), element="Cu",
                        interface_z_A=np.tile([2 * a, 6 * a], (2, 1)).astype(np.float32), origin_A=np.zeros((2, 3), np.float32),
                        lattice="fcc")


def write_library(path, seed=0):
    """Ten materials whose v = C u(T) with C set by the entropy of fusion and the orientation class
    (the law the models should find), plus 5 % noise; each interface a small synthetic snapshot."""
    rng = np.random.default_rng(seed)
    mats, kin, diff, faces = [], [], [], []
    for i, fam in enumerate(FAMILIES):
        name, mass, tm = f"M{i}", rng.uniform(25, 200), rng.uniform(900, 3000)
        L = rng.uniform(0.8, 1.6) * growth.K_B * tm / growth.EV
        vc, rdf = rng.uniform(12, 20), rng.uniform(2.4, 3.0)
        mats.append({"material": name, "family": fam, "mass_amu": mass, "melting_point_K": tm,
                     "latent_heat_eV_per_atom": L, "crystal_volume_per_atom_A3": vc,
                     "liquid_volume_per_atom_A3": vc * rng.uniform(1.02, 1.06), "liquid_rdf_peak_A": rdf,
                     "liquid_rdf_peak_height": rng.uniform(2.3, 3.0), "excluded": ""})
        s = L * growth.EV / (growth.K_B * tm)
        for o in ORIENT[fam]:
            (path / "interfaces").mkdir(parents=True, exist_ok=True)
            write_interface(path / "interfaces" / f"{name}_{o}.npz", rng)
            C = 0.2 + 0.4 * (s - 0.8) + (0.25 if (fam, o) in growth.CLOSE_PACKED else 0.0)
            faces.append({"material": name, "orientation": o, "fluctuation_mu_m_per_s_per_K": rng.uniform(0.1, 1.0),
                          "tm_check_velocity_m_per_s": rng.normal(0, 5)})
            for f in FRACTIONS:
                T = round(f * tm)
                u = growth.collision_scale(T, mass, tm, L)
                kin.append({"material": name, "orientation": o, "temperature_K": T,
                            "velocity_m_per_s": C * u * (1 + 0.05 * rng.standard_normal()), "stderr_m_per_s": 1.0})
        diff += [{"material": name, "temperature_K": round(f * tm), "diffusivity_m2_per_s": 3e-9 * f} for f in FRACTIONS]
    for name, rows in (("materials", mats), ("kinetics", kin), ("diffusivity", diff), ("interfaces", faces)):
        pd.DataFrame(rows).to_csv(path / f"{name}.csv", index=False)
    return path


def test_no_input_comes_from_the_growth_runs(tmp_path):
    lib = write_library(tmp_path)
    assert all(not any(run in i.run for run in growth.FORBIDDEN_RUNS) for i in growth.INPUTS)
    assert any(run in growth.TARGET.run for run in growth.FORBIDDEN_RUNS)
    before = growth.growth_table(lib)
    # change every measured velocity (the growth runs' output): not one input may move
    kin = pd.read_csv(lib / "kinetics.csv", dtype={"orientation": str})
    kin["velocity_m_per_s"] = np.random.default_rng(1).normal(size=len(kin)) * 100
    kin["stderr_m_per_s"] = 7.0
    kin.to_csv(lib / "kinetics.csv", index=False)
    faces = pd.read_csv(lib / "interfaces.csv", dtype={"orientation": str})     # nor the interface runs' Tm check
    faces["tm_check_velocity_m_per_s"] = 99.0
    faces.to_csv(lib / "interfaces.csv", index=False)
    after = growth.growth_table(lib)
    pd.testing.assert_frame_equal(before[growth.KEY + growth.SCALAR_INPUTS], after[growth.KEY + growth.SCALAR_INPUTS])
    assert not np.allclose(before["velocity_m_per_s"], after["velocity_m_per_s"])


def test_an_excluded_material_and_a_missing_diffusivity(tmp_path):
    lib = write_library(tmp_path)
    mats = pd.read_csv(lib / "materials.csv", dtype={"excluded": str})
    mats.loc[0, "excluded"] = "classifier fails"
    mats.to_csv(lib / "materials.csv", index=False)
    assert "M0" not in set(growth.growth_table(lib)["material"])
    faces = pd.read_csv(lib / "interfaces.csv", dtype={"orientation": str})
    faces.loc[faces["material"] == "M2", "fluctuation_mu_m_per_s_per_K"] = np.nan  # an interface run too short
    faces.to_csv(lib / "interfaces.csv", index=False)
    with pytest.raises(Exception, match=r"interfaces.csv.*no fluctuation_mu_m_per_s_per_K for \[\('M2', '100'\)"):
        growth.growth_table(lib)
    faces.fillna(0.5).to_csv(lib / "interfaces.csv", index=False)
    diff = pd.read_csv(lib / "diffusivity.csv")
    diff[diff["material"] != "M1"].to_csv(lib / "diffusivity.csv", index=False)   # M0 is excluded: M1
    with pytest.raises(Exception, match="diffusivity.csv.*no liquid diffusivity"):
        growth.growth_table(lib)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return growth.growth_table(write_library(tmp_path_factory.mktemp("lib")))


def test_leave_one_material_out_learns_a_law_in_the_inputs(table):
    pred = lomo.evaluate(table, growth.SCALAR_INPUTS, ["mean", "collision", "ridge"], split="lomo", seeds=[0],
                         budget=lomo.Budget(trials=4, inner_folds=3))
    assert set(pred["held_out"]) == set(table["material"])
    for held, g in pred.groupby("held_out"):       # each material predicted only when held out
        assert set(g["material"]) == {held}
    m = lomo.summarise(pred, target_model="ridge")
    r = {k: v["rmse"]["growth_rate"] for k, v in m["models"].items()}
    assert r["ridge"] < 0.7 * r["collision"] < 0.35 * r["mean"], r     # C depends on the inputs: ridge finds it
    assert m["best_baseline"] == "collision" and m["ridge_vs_best"]["rmse_ratio"] < 1
    assert m["models"]["ridge"]["rmse"]["ci95"][0] <= r["ridge"] <= m["models"]["ridge"]["rmse"]["ci95"][1]


def test_an_untuned_budget_fits_every_model_at_its_stated_defaults(table):
    """growth_task.trials: 0 (the default run): no Optuna study, no inner CV; each tunable model
    at lomo.DEFAULTS (the MS-GNN at growth_gnn.DEFAULTS plus its variant's fixed settings)."""
    from msgnn.learn.growth_gnn import DEFAULTS as GNN_DEFAULTS

    untuned = lomo.Budget(trials=0, gnn_epochs=7)
    pred = lomo.evaluate(table, growth.SCALAR_INPUTS, ["mean", "ridge", "gbt"], split="lomo", seeds=[0], budget=untuned)
    for model in ("ridge", "gbt"):
        rows = pred[pred["model"] == model]
        assert (rows["params"] == str(lomo.DEFAULTS[model])).all() and rows["inner_rmse_m_per_s"].isna().all()
    r = {k: v["rmse"]["growth_rate"] for k, v in lomo.summarise(pred)["models"].items()}
    assert r["ridge"] < 0.5 * r["mean"], r          # the defaults still learn the law
    params, inner = lomo.tune("msgnn_atoms", table, growth.SCALAR_INPUTS, untuned, 0)
    assert params == {**GNN_DEFAULTS, "epochs": 7, "levels": ["atom"]} and np.isnan(inner)


def test_learned_models_fit_the_residual_of_the_collision_law(table):
    """lomo.OnPhysics on the physics law that best explains the training rows (BestPhysics): where v is C_class u exactly the residual is zero, so a learned model
    reproduces the collision model; elsewhere its inner model sees v minus the physics."""
    exact = table.assign(velocity_m_per_s=lomo.ScaledPhysics("collision_scale_m_per_s").fit(table).predict(table))
    chosen = lomo.BestPhysics().fit(exact)
    assert chosen.scale_ == "collision_scale_m_per_s"          # the law that explains the rows exactly
    wf = table.assign(velocity_m_per_s=2.0 * table["wilson_frenkel_scale_m_per_s"])
    assert lomo.BestPhysics().fit(wf).scale_ == "wilson_frenkel_scale_m_per_s"
    collision = lomo.make_growth_model("collision", {}, [], 0).fit(exact).predict(exact)
    ridge = lomo.make_growth_model("ridge", lomo.DEFAULTS["ridge"], growth.SCALAR_INPUTS, 0).fit(exact)
    assert isinstance(ridge, lomo.OnPhysics) and np.allclose(ridge.predict(exact), collision, rtol=1e-9, atol=1e-9)
    seen = {}

    class Spy:
        def fit(self, df):
            seen["v"] = df["velocity_m_per_s"].to_numpy()
            return self

        def predict(self, df):
            return np.zeros(len(df))

    m = lomo.OnPhysics(Spy(), lomo.ScaledPhysics("collision_scale_m_per_s")).fit(table)
    assert np.allclose(seen["v"], table["velocity_m_per_s"] - m.physics.predict(table))
    assert not np.allclose(seen["v"], table["velocity_m_per_s"])


def test_permuted_targets_score_no_better_than_the_mean(table):
    perm = table.copy()
    perm["velocity_m_per_s"] = np.random.default_rng(3).permutation(perm["velocity_m_per_s"].to_numpy())
    pred = lomo.evaluate(perm, growth.SCALAR_INPUTS, ["mean", "ridge", "gbt"], split="lomo", seeds=[0],
                         budget=lomo.Budget(trials=3, inner_folds=3))
    m = lomo.summarise(pred)
    r = {k: v["rmse"]["growth_rate"] for k, v in m["models"].items()}
    assert min(r["ridge"], r["gbt"]) > 0.95 * r["mean"], r


def test_leave_one_family_out_holds_out_whole_families(table):
    pred = lomo.evaluate(table, growth.SCALAR_INPUTS, ["collision"], split="lofo", seeds=[0], budget=lomo.Budget(trials=1))
    assert set(pred["held_out"]) == {"fcc", "bcc", "hcp", "diamond"}
    assert (pred["family"] == pred["held_out"]).all()


def test_the_ms_gnn_reads_each_interface_once_and_learns_the_law(table, tmp_path_factory):
    """The MS-GNN on held-out materials (one family out at a time, one tuning trial): its
    predictions come from the held-out interfaces' graphs and beat the mean velocity."""
    from msgnn.graphs.settings import GraphSettings
    from msgnn.learn.growth_gnn import interface_graphs

    lib = write_library(tmp_path_factory.mktemp("lib"))
    keys = sorted(set(zip(table["material"], table["orientation"])))
    graphs = interface_graphs(lib, keys, GraphSettings(interface_width_A=8.0, cluster_size_A=5.0))
    assert len(graphs) == 20 and all(len(g) == 2 for g in graphs.values())
    assert graphs[keys[0]][0]["facet"].x.shape[0] == 0          # the growth head reads no micrograph
    pred = lomo.evaluate(table, growth.SCALAR_INPUTS, ["mean", "msgnn", "msgnn_atoms"], split="lofo", seeds=[0],
                         budget=lomo.Budget(trials=1, inner_folds=2, gnn_epochs=30), graphs=graphs)
    m = lomo.summarise(pred, target_model="msgnn")
    r = {k: v["rmse"]["growth_rate"] for k, v in m["models"].items()}
    assert r["msgnn"] < 0.6 * r["mean"], r       # 30 epochs: 0.15 x the mean (2026-12-08)
    assert m["best_baseline"] == "mean" and "msgnn_atoms_vs_msgnn" in m     # an ablation is no baseline
    assert (pred[pred["model"] == "msgnn_atoms"]["params"].str.contains("'levels': \\['atom'\\]")).all()


def test_lateral_windows_are_extra_training_views_of_their_own_interface(tmp_path):
    """Augmentation: a window keeps the atoms of a periodic patch (wrapping across the cell edge);
    windows are grouped with their interface, trained on only by msgnn_windows, never predicted from."""
    from msgnn.graphs.settings import GraphSettings
    from msgnn.learn.growth_gnn import GrowthGNN, interface_graphs, lateral_window

    cell = np.diag([10.0, 10.0, 40.0])
    pos = np.array([[0.5, 0.5, 1.0], [9.5, 9.5, 2.0], [5.5, 5.5, 3.0], [9.5, 0.5, 4.0]])
    fr = {"positions_A": pos, "cell_A": cell, "q6": np.arange(4.0), "element": "Cu"}
    w = lateral_window(fr, (0.9, 0.9), area=0.25)            # patch x, y in [9, 10) U [0, 4)
    assert w["q6"].tolist() == [0.0, 1.0, 3.0] and w["cell_A"] is cell and w["element"] == "Cu"

    lib = write_library(tmp_path / "lib")
    keys = sorted(set(zip(growth.growth_table(lib)["material"], growth.growth_table(lib)["orientation"])))[:2]
    settings = GraphSettings(interface_width_A=8.0, cluster_size_A=5.0)
    graphs = interface_graphs(lib, keys, settings, windows=3)
    for k in keys:
        views = [g.view_kind for g in graphs[k]]
        assert views == ["snapshot"] * 2 + ["window"] * 6
        full, win = graphs[k][0]["atom"].x.shape[0], [g["atom"].x.shape[0] for g in graphs[k][2:5]]
        assert all(0.2 * full < n < 0.8 * full for n in win), (full, win)
    plain, windowed = GrowthGNN({}, graphs, [], 0), GrowthGNN({"windows": True}, graphs, [], 0)
    assert all(len(plain.graphs[k]) == 2 and len(windowed.graphs[k]) == 8 for k in keys)
    assert all(len(windowed.snapshots[k]) == 2 for k in keys)      # predictions: full snapshots only


def test_the_workflow_runs_the_growth_task_on_a_library_folder(tmp_path):
    """`snakemake growth_all` with the default config reads the library named by growth_task.library
    (a source folder: no rule of the default run writes it) and writes predictions, metrics and the
    parity plot per split kind, and the learning curve and tuning study."""
    import json
    import yaml

    from conftest import ROOT, SNAKEMAKE, run

    write_library(tmp_path / "lib")
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["growth_task"] = {"library": "lib", "splits": ["lofo"], "models": ["mean", "collision", "ridge"],
                          "seeds": 2, "trials": 2, "inner_folds": 2}
    cfg["growth_studies"] = {"learning_curve_models": ["collision"], "learning_curve_sizes": [3],
                             "learning_curve_seeds": 1, "tuning_model": "ridge", "tuning_trials": 4, "tuning_seeds": 1}
    (tmp_path / "override.yaml").write_text(yaml.safe_dump(cfg))
    run([*SNAKEMAKE, "--directory", tmp_path, "--configfile", "override.yaml", "--cores", "1", "growth_all"], cwd=tmp_path)
    m = json.loads((tmp_path / "results/growth/lofo/metrics.json").read_text())
    assert m["split"] == "lofo" and m["seeds"] == [42, 43] and m["n_materials"] == 10
    assert m["target_stderr_rms_m_per_s"] == pytest.approx(1.0)           # write_library's stderr
    assert set(m["models"]) == {"mean", "collision", "ridge"} and m["best_baseline"] in m["models"]
    pred = pd.read_csv(tmp_path / "results/growth/lofo/predictions.csv")
    assert len(pred) == 2 * 3 * 160 and set(pred["held_out"]) == {"fcc", "bcc", "hcp", "diamond"}
    assert (tmp_path / "results/growth/lofo/parity.png").stat().st_size > 5000
    studies = json.loads((tmp_path / "results/growth/studies.json").read_text())
    assert list(studies["learning_curve"]["collision"]) == ["3"] and "trials_to_random_best_of_4" in studies


def test_the_documented_inputs_are_the_code_s_inputs():
    from conftest import ROOT
    assert growth.inputs_markdown() in (ROOT / "docs" / "learning_task.md").read_text()


def test_learning_curve_trains_on_fewer_materials(table):
    """More training materials, lower error (the law needs several materials to be seen)."""
    lc = lomo.learning_curve(table, growth.SCALAR_INPUTS, ["ridge"], [2, 9], seeds=[0, 1],
                             budget=lomo.Budget(trials=2, inner_folds=2))
    assert sorted(lc["n_train_materials"].unique()) == [2, 9] and len(lc) == 4
    r = lc.groupby("n_train_materials")["rmse_m_per_s"].mean()
    assert r[9] < r[2], r


def test_sampler_comparison_records_best_so_far_curves(table):
    curves = lomo.sampler_comparison(table, growth.SCALAR_INPUTS, "ridge", "M0", seeds=[0, 1], n_trials=6,
                                     budget=lomo.Budget(inner_folds=2), startup=3)
    assert set(curves["sampler"]) == {"gp", "tpe", "random"} and len(curves) == 3 * 2 * 6
    for _, g in curves.groupby(["sampler", "seed"]):
        assert (np.diff(g["best_so_far"]) <= 0).all() and g["best_so_far"].iloc[-1] == g["value"].min()
    reach = lomo.trials_to_reach(curves, at=6)
    assert reach["random"]["seeds_reaching"] in ("1/2", "2/2") and reach["gp"]["overhead_s_per_trial"] >= 0


def test_growth_studies_write_the_learning_curve_and_the_samplers_trials_to_reach(tmp_path):
    """Rule growth_studies' function on a small library: one learning-curve row per model, size
    and seed; best-so-far curves per sampler; trials_to_random_best_of_N per sampler; figures."""
    from msgnn.graphs.settings import GraphSettings
    from msgnn.learn.growth_studies import run_growth_studies
    from msgnn.learn.settings import GrowthStudiesSettings, GrowthTaskSettings

    lib = write_library(tmp_path / "lib")
    task = GrowthTaskSettings(library=str(lib), splits=["lomo"], models=["mean"], seeds=1, trials=0, inner_folds=2,
                              gnn_epochs=5)
    studies = GrowthStudiesSettings(learning_curve_models=["collision", "ridge"], learning_curve_sizes=[2, 4],
                                    learning_curve_seeds=2, tuning_model="ridge", tuning_trials=6, tuning_seeds=2,
                                    tuning_held_out="M3")
    out = {k: tmp_path / f"{k}.{ext}" for k, ext in (("curve", "csv"), ("curve_png", "png"), ("tuning", "csv"),
                                                     ("tuning_png", "png"), ("summary", "json"))}
    summary = run_growth_studies(lib, task, studies, GraphSettings(8.0, 5.0), 0, *out.values())
    curve = pd.read_csv(out["curve"])
    assert len(curve) == 2 * 2 * 2 and sorted(curve["n_train_materials"].unique()) == [2, 4]
    assert set(summary["learning_curve"]) == {"collision", "ridge"}
    tuning = pd.read_csv(out["tuning"])
    assert len(tuning) == 3 * 2 * 6 and summary["tuning_efficiency"]["held_out"] == "M3"
    assert set(summary["trials_to_random_best_of_6"]) == {"gp", "tpe", "random"}
    assert summary["tuning_efficiency"]["gp"]["overhead_s_per_trial"] > 0     # the GP's own time is counted
    assert out["curve_png"].read_bytes()[:4] == out["tuning_png"].read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="tuning_held_out: 'Zz'"):
        run_growth_studies(lib, task, GrowthStudiesSettings(**{**vars(studies), "tuning_held_out": "Zz"}),
                           GraphSettings(8.0, 5.0), 0, *out.values())


def test_propensity_labels_are_each_atom_s_next_snapshot_and_train_an_atom_head(tmp_path, table):
    """msgnn_propensity: every interface atom of a snapshot is labelled with its solid flag in the
    next snapshot (NaN in the last one, which has none); the atom head's cross-entropy on those
    labels is added to the loss (its weight: params["propensity"])."""
    from msgnn.graphs.settings import GraphSettings
    from msgnn.learn.growth_gnn import GrowthGNN, interface_graphs
    from msgnn.md.snapshots import read_snapshots

    lib = write_library(tmp_path / "lib")
    keys = sorted(set(zip(table["material"], table["orientation"])))
    graphs = interface_graphs(lib, keys, GraphSettings(interface_width_A=8.0, cluster_size_A=5.0))
    first, last = graphs[keys[0]]
    s = read_snapshots(lib / "interfaces" / f"{keys[0][0]}_{keys[0][1]}.npz")
    solid = first["atom"].x[:, 10]                       # ATOM_FEATURES "solid" (write_interface: the same in both frames)
    assert torch.equal(first["atom"].next_solid, solid) and s["solid"].shape[0] == 2
    assert torch.isnan(last["atom"].next_solid).all()
    params = {"hidden": 16, "layers_per_scale": 1, "attention_dim": 8, "lr": 3e-3, "weight_decay": 1e-5, "epochs": 5}
    plain = GrowthGNN(params, graphs, growth.SCALAR_INPUTS, 0).fit(table)
    prop = GrowthGNN({**params, "propensity": 1.0}, graphs, growth.SCALAR_INPUTS, 0).fit(table)
    assert not hasattr(plain.model, "atom_head") and hasattr(prop.model, "atom_head")
    assert all(np.isfinite(prop.losses)) and prop.losses[0] > plain.losses[0] + 0.1    # + a cross-entropy ~ln 2
    assert np.isfinite(prop.predict(table)).all()
