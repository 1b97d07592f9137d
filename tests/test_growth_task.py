"""The growth task's dataset (msgnn.learn.growth) and its nested leave-one-material-out evaluation
(msgnn.learn.lomo) on library tables written here from a known law (the real library's tables are
made and checked in test_library.py): no input comes from the growth runs, permuted targets
learn nothing, and a law in the inputs is learned."""
import numpy as np
import pandas as pd
import pytest

from msgnn.learn import growth, lomo

FAMILIES = ["fcc", "fcc", "fcc", "bcc", "bcc", "hcp", "diamond", "diamond", "fcc", "bcc"]
ORIENT = {"fcc": ["100", "111"], "bcc": ["100", "111"], "hcp": ["0001", "10-10"], "diamond": ["100", "111"]}
FRACTIONS = [0.86, 0.89, 0.92, 0.94, 0.96, 0.98, 1.02, 1.04]


def write_library(path, seed=0):
    """Ten materials whose v = C u(T) with C set by the entropy of fusion and the orientation class
    (the law the models should find), plus 5 % noise."""
    rng = np.random.default_rng(seed)
    mats, kin, diff = [], [], []
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
            C = 0.2 + 0.4 * (s - 0.8) + (0.25 if (fam, o) in growth.CLOSE_PACKED else 0.0)
            for f in FRACTIONS:
                T = round(f * tm)
                u = growth.collision_scale(T, mass, tm, L)
                kin.append({"material": name, "orientation": o, "temperature_K": T,
                            "velocity_m_per_s": C * u * (1 + 0.05 * rng.standard_normal()), "stderr_m_per_s": 1.0})
        diff += [{"material": name, "temperature_K": round(f * tm), "diffusivity_m2_per_s": 3e-9 * f} for f in FRACTIONS]
    for name, rows in (("materials", mats), ("kinetics", kin), ("diffusivity", diff)):
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
    after = growth.growth_table(lib)
    pd.testing.assert_frame_equal(before[growth.KEY + growth.SCALAR_INPUTS], after[growth.KEY + growth.SCALAR_INPUTS])
    assert not np.allclose(before["velocity_m_per_s"], after["velocity_m_per_s"])


def test_an_excluded_material_and_a_missing_diffusivity(tmp_path):
    lib = write_library(tmp_path)
    mats = pd.read_csv(lib / "materials.csv", dtype={"excluded": str})
    mats.loc[0, "excluded"] = "classifier fails"
    mats.to_csv(lib / "materials.csv", index=False)
    assert "M0" not in set(growth.growth_table(lib)["material"])
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
