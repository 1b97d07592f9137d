"""Melting point by NPH solid–liquid coexistence: the estimators, and a tiny real Al slab."""
import json

import numpy as np
import pytest

from msgnn.md.melting import (combine_replicas, coexistence_run, plateau_estimate, start_temperatures,
                              write_melting_point)
from md_helpers import AL
from msgnn.md.settings import MeltingSettings, SlabSettings
from msgnn.md.slab import measure_densities

MD = SlabSettings.defaults(cells=[3, 3, 12], melt_steps=600, equilibrate_steps=100, expansion_steps=200)
MELT = MeltingSettings.defaults(steps=2000, thermalize_ps=0.4, sample_every=20, blocks=4, discard_fraction=0.3)


def test_plateau_estimator_on_a_synthetic_series():
    rng = np.random.default_rng(0)
    relax = 880 + 46 * (1 - np.exp(-np.arange(200) / 15.0))     # relaxation from 880 K to 926 K
    plateau = 926.0 + rng.normal(0, 5.0, 800)
    est = plateau_estimate(np.concatenate([relax, plateau]), discard_fraction=0.2, blocks=8)
    assert est["first_sample"] == 200 and est["n_samples"] == 800
    assert est["mean_K"] == pytest.approx(plateau.mean(), abs=1e-9)
    assert est["stderr_K"] == pytest.approx(5.0 / np.sqrt(800), rel=0.6)
    assert abs(est["drift_K_per_sample"]) < 0.01
    with pytest.raises(ValueError):
        plateau_estimate([926.0, np.nan] * 10, 0.4, 5)


def test_replicas_combine_to_mean_and_standard_error():
    tm, se = combine_replicas([920.0, 930.0, 925.0, 927.0], [1.0, 1.0, 1.0, 1.0])
    assert tm == pytest.approx(925.5)
    assert se == pytest.approx(np.std([920, 930, 925, 927], ddof=1) / 2)
    assert combine_replicas([925.0], [3.0]) == (925.0, 3.0)
    assert combine_replicas([925.0, 925.0], [4.0, 4.0])[1] == pytest.approx(np.sqrt(32) / 2)   # never 0
    assert start_temperatures(926, 3, 20) == [906.0, 926.0, 946.0] and start_temperatures(926, 1, 20) == [926.0]


@pytest.fixture(scope="module")
def densities():
    return measure_densities(AL, 926.0, 3, MD)


@pytest.mark.parametrize("offset", [-60, 60])
def test_coexistence_temperature_moves_towards_tm(densities, offset):
    r = coexistence_run(AL, MD, MELT.replace(steps=3000), 926 + offset, 17, densities)
    T = np.array(r["temperature_K"])
    assert r["coexisting"], r["solid_fraction"]
    # started 60 K off: ends closer to Tm (432 atoms: the temperature fluctuates by ~30 K and
    # relaxes over ~5 ps), the crystal grew (too cold) or melted (too hot)
    assert abs(T[-len(T) // 5:].mean() - 926) < abs(offset) - 20, T[-len(T) // 5:].mean()
    assert (r["solid_fraction"][1] - r["solid_fraction"][0]) * offset < 0


def test_melting_point_file(tmp_path):
    out = write_melting_point("Al", AL, MD, MELT.replace(replicas=2, steps=600, start_spread_K=10),
                              seed=5, out_json=tmp_path / "m.json", plot_png=tmp_path / "m.png")
    m = json.loads((tmp_path / "m.json").read_text())
    assert {"material", "potential", "melting_point_K", "uncertainty_K", "published_K"} <= set(m)
    assert m["material"] == "Al" and m["published_K"] == 926 and m["replicas"] == 2
    assert len(m["replica_melting_points_K"]) == 2 and m["uncertainty_K"] > 0
    assert 800 < m["melting_point_K"] < 1050
    assert out["melting_point_K"] == m["melting_point_K"]
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"
