"""Microscopy stage: JMAK physics, segmentation accuracy, physical units, file ingest errors."""
import json
import math

import numpy as np
import pytest
import tifffile
import torch

from msgnn.errors import InputFileError
from msgnn.io import write_json
from msgnn.microscopy.accuracy import boundary_f1
from msgnn.microscopy.facets import facet_graph, grain_statistics
from msgnn.microscopy.io import read_segmentable, write_micrograph
from msgnn.kinetics import ClassicalNucleation
from msgnn.microscopy.pipeline import ConditionOutputs, _nondim_pixel, accuracy_study, kinetics_from_run, process_condition
from msgnn.microscopy.settings import AccuracySettings, ConditionSettings
from synthetic import avrami_fraction, synthetic_image
from msgnn.microscopy.segment import segment_grains
from msgnn.microscopy.simulate import (final_grain_density_per_m2,
                                       pixel_size_for_grains, render_micrograph, simulate_jmak)

NUC = ClassicalNucleation.defaults(turnbull_alpha=0.45, contact_angle_deg=25.0, prefactor_per_m3_s=1e30,
                                   film_thickness_m=1e-7)
MIC = ConditionSettings.defaults(images_per_condition=1, image_px=96, grains_per_image=25, noise=0.05, blur_px=1.0,
                                 series_frames=4)


def test_jmak_fraction_follows_avrami():
    J, G = 3e19, 0.7   # m^-2 s^-1, m/s
    px = pixel_size_for_grains(J, G, 200, 400)
    m = simulate_jmak(J, G, (200, 200), px, np.random.default_rng(1))
    tau = m.meta["time_scale_s"]
    t = np.linspace(0.2, 2.2, 11) * tau
    measured = m.transformed_fraction(t)
    expected = avrami_fraction(t, J, G)
    assert np.max(np.abs(measured - expected)) < 0.04
    # a wrong exponent (t^2 growth law) would be far off at intermediate times
    wrong = 1 - np.exp(-(math.pi / 3) * J * G ** 2 * t ** 2 * tau)
    assert np.max(np.abs(measured - wrong)) > 0.1
    assert m.n_discarded > 0   # nuclei landing in transformed area were discarded


def test_final_grain_density_matches_johnson_mehl():
    J, G = 1e20, 2.0
    px = pixel_size_for_grains(J, G, 160, 150)
    dens = [grain_statistics(simulate_jmak(J, G, (160, 160), px, np.random.default_rng(s)).labels, px)
            ["nucleation_density_per_m2"] for s in range(3)]
    assert np.mean(dens) == pytest.approx(final_grain_density_per_m2(J, G), rel=0.1)


def test_segmentation_recovers_known_grains():
    m, img = synthetic_image(192, 80, 0.03, 1.0, np.random.default_rng(3))
    labels, _ = segment_grains(img)
    assert boundary_f1(labels, m.labels)["f1"] > 0.95
    sp, st = grain_statistics(labels, 1.0), grain_statistics(m.labels, 1.0)
    assert sp["n_grains"] == pytest.approx(st["n_grains"], rel=0.15)
    assert sp["mean_grain_size_m"] == pytest.approx(st["mean_grain_size_m"], rel=0.15)


def test_segmentation_meets_accuracy_targets_at_default_noise():
    """Issue 4 targets at the default noise (0.08, blur 1 px) and field (384 px, 50 grains per
    image, see msgnn.microscopy.simulate): boundary F1 >= 0.9, grain-count and mean-size (mean
    linear intercept) errors <= 5 % (means over images of |pred/true - 1|, every true grain
    counted). Measured on these 10 images: F1 0.993, count 3.6 %, size 1.8 %."""
    f1, cnt, size = [], [], []
    for i in range(10):    # one grain is 2 % of an image: fewer images scatter the mean by ~1.5 %
        m, img = synthetic_image(384, 50, 0.08, 1.0, np.random.default_rng([11, i]))
        labels, _ = segment_grains(img)
        sp, st = grain_statistics(labels, 1.0), grain_statistics(m.labels, 1.0)
        f1.append(boundary_f1(labels, m.labels)["f1"])
        cnt.append(abs(sp["n_grains"] / st["n_grains"] - 1))
        size.append(abs(sp["mean_grain_size_m"] / st["mean_grain_size_m"] - 1))
    assert np.mean(f1) >= 0.9
    assert np.mean(cnt) <= 0.05
    assert np.mean(size) <= 0.05


def test_segmentation_keeps_a_real_boundary_at_high_noise():
    """A grooved boundary between two grains of equal brightness survives noise 0.15 and is
    found where it is (the contrast test is relative to the image's own boundaries)."""
    rng = np.random.default_rng(0)
    two = np.ones((96, 96), np.int32)
    two[:, 48:] = 2
    labels, _ = segment_grains(render_micrograph(two, rng, noise=0.15))
    assert labels.max() >= 2
    assert boundary_f1(labels, two)["recall"] > 0.9


def test_boundary_f1_tolerance():
    truth = np.zeros((60, 60), int) + 1
    truth[:, 30:] = 2
    assert boundary_f1(truth, truth)["f1"] == 1.0
    near, far = np.ones_like(truth), np.ones_like(truth)
    near[:, 32:] = 2     # 2 px off: inside the tolerance
    far[:, 40:] = 2      # 10 px off: a miss
    assert boundary_f1(near, truth)["f1"] == 1.0
    assert boundary_f1(far, truth)["f1"] == 0.0


def test_physical_units_scale_with_pixel_size():
    m, img = synthetic_image(96, 25, 0.0, 1.0, np.random.default_rng(0))
    g1, g2 = facet_graph(m.labels, img, 1e-8), facet_graph(m.labels, img, 3e-8)
    names = g1["feature_names"]["facet_x"]
    x1, x2 = g1["facet_x"].double(), g2["facet_x"].double()
    for name, power in [("area_m2", 2), ("equivalent_diameter_m", 1), ("perimeter_m", 1),
                        ("orientation_rad", 0), ("eccentricity", 0)]:
        i = names.index(name)
        assert torch.allclose(x2[:, i], x1[:, i] * 3 ** power, rtol=1e-5)
    assert torch.allclose(g2["facet_edge_attr"][:, 0], g1["facet_edge_attr"][:, 0] * 3, rtol=1e-5)
    # total area of the facets is the field area
    assert float(x1[:, names.index("area_m2")].sum()) == pytest.approx(96 * 96 * 1e-16, rel=1e-5)
    s1, s2 = grain_statistics(m.labels, 1e-8), grain_statistics(m.labels, 3e-8)
    assert s2["nucleation_density_per_m2"] == pytest.approx(s1["nucleation_density_per_m2"] / 9)
    assert s2["mean_grain_size_m"] == pytest.approx(s1["mean_grain_size_m"] * 3)
    # graph is undirected and indexes existing nodes
    ei = g1["facet_edge_index"]
    assert ei.shape[0] == 2 and int(ei.max()) < x1.shape[0]
    assert set(map(tuple, ei.T.tolist())) == set(map(tuple, ei.flip(0).T.tolist()))


def test_tiff_roundtrip_keeps_calibration(tmp_path):
    img = np.random.default_rng(0).random((32, 40)).astype(np.float32)
    write_micrograph(tmp_path / "a.tif", img, 2.5e-9)
    m = read_segmentable(tmp_path / "a.tif")
    data, px = m.data, m.pixel_size_m
    assert px == pytest.approx(2.5e-9, rel=1e-6)
    assert np.allclose(data, img)


@pytest.mark.parametrize("kind", ["corrupt", "truncated", "nan", "stack", "uncalibrated", "constant"])
def test_bad_micrographs_raise_input_file_error(tmp_path, kind):
    path = tmp_path / f"{kind}.tif"
    img = np.random.default_rng(0).random((32, 32)).astype(np.float32)
    if kind == "corrupt":
        path.write_bytes(b"II*\x00" + bytes(range(256)) * 4)
    elif kind == "truncated":
        write_micrograph(path, img, 1e-9)
        path.write_bytes(path.read_bytes()[:300])
    elif kind == "nan":
        img[5:7, 10] = np.nan
        write_micrograph(path, img, 1e-9)
    elif kind == "stack":
        tifffile.imwrite(path, np.stack([img, img, img]), photometric="minisblack")
    elif kind == "uncalibrated":
        tifffile.imwrite(path, img)
    elif kind == "constant":
        write_micrograph(path, np.ones((32, 32), np.float32), 1e-9)
    with pytest.raises(InputFileError) as err:
        read_segmentable(path)
    assert str(path) in str(err.value)
    if kind == "nan":
        assert "rows 5-6" in str(err.value)


def test_png_needs_config_calibration(tmp_path):
    from skimage import io as skio
    path = tmp_path / "a.png"
    skio.imsave(path, (np.random.default_rng(0).random((32, 32)) * 255).astype(np.uint8))
    with pytest.raises(InputFileError, match="calibration"):
        read_segmentable(path)
    assert read_segmentable(path, pixel_size_m=1e-9).pixel_size_m == 1e-9


def test_bad_run_json(tmp_path):
    write_json(tmp_path / "run.json", {"velocity_m_per_s": 1.0, "latent_heat_eV_per_atom": None,
                                       "atomic_volume_m3": 1.6e-29})
    with pytest.raises(InputFileError, match="latent_heat_eV_per_atom"):
        kinetics_from_run(tmp_path / "run.json", 870, 926, NUC)


def _run(tmp_path, **kw):
    out = ConditionOutputs(tmp_path / "images", tmp_path / "facets.pt", tmp_path / "m.json", tmp_path / "fig.png")
    return process_condition(material="Al", temperature_K=870, settings=MIC, nucleation=NUC,
                             melting_point_K=926, seed=5, out=out, **kw), out


def test_synthetic_condition_end_to_end(tmp_path):
    write_json(tmp_path / "run.json", {"velocity_m_per_s": 1.2, "latent_heat_eV_per_atom": 0.11,
                                       "atomic_volume_m3": 1.66e-29})
    res, out = _run(tmp_path, run_json=tmp_path / "run.json")
    m = json.loads(out.measurements.read_text())
    assert m["synthetic"] is True and m["temperature_K"] == 870
    ell = m["length_scale_m"]
    assert ell == pytest.approx((1.2 / m["areal_nucleation_rate_per_m2_s"]) ** (1 / 3))
    assert m["pixel_size_m"] == pytest.approx(_nondim_pixel(96, 25) * ell)
    assert m["nucleation_density_per_m2"] == pytest.approx(m["expected_nucleation_density_per_m2"], rel=0.5)
    graphs = torch.load(out.facets, weights_only=False)
    assert len(graphs) == 1 and graphs[0]["facet_x"].dtype == torch.float32
    assert graphs[0]["facet_edge_index"].dtype == torch.long
    assert (out.images / "image_00_truth_labels.tif").exists()
    assert out.figure.stat().st_size > 1000
    # the in-situ series: reference + 4 frames saved with their times; facet growth rates in m/s
    # recover the MD growth speed that drove the simulation
    series = tifffile.imread(out.images / "image_00_series.tif")
    assert series.shape == (5, 96, 96)
    assert m["facet_growth"]["median_m_per_s"] == pytest.approx(1.2, rel=0.1)
    rates = graphs[0]["facet_growth_rate_m_per_s"]
    assert rates.shape == (graphs[0]["facet_x"].shape[0],) and torch.isfinite(rates).sum() >= 5
    # seeds make the run reproducible
    res2, _ = _run(tmp_path / "again", run_json=tmp_path / "run.json")
    assert res2["n_grains"] == res["n_grains"]


def test_real_images_are_ingested_not_simulated(tmp_path):
    m, img = synthetic_image(96, 25, 0.03, 1.0, np.random.default_rng(2))
    write_micrograph(tmp_path / "real.tif", img, 4e-9)
    res, out = _run(tmp_path, real_images=[str(tmp_path / "real.tif")])
    assert res["synthetic"] is False and res["pixel_size_m"] == pytest.approx(4e-9)
    assert res["nucleation_density_per_m2"] == pytest.approx(
        grain_statistics(m.labels, 4e-9)["nucleation_density_per_m2"], rel=0.3)


def test_accuracy_study_keys(tmp_path):
    settings = AccuracySettings.defaults(accuracy_noise_levels=[0.02, 0.3], noise=0.05, image_px=96,
                                         grains_per_image=25, accuracy_images=1, blur_px=1.0)
    res = accuracy_study(settings, seed=1, out_json=tmp_path / "a.json")
    assert [r["noise"] for r in res["by_noise"]] == [0.02, 0.05, 0.3]
    for key in ("noise", "boundary_f1", "grain_count_error", "mean_size_error", "mean_diameter_error",
                "facet_growth_error"):
        assert key in res["default_noise"]
    # more noise, worse boundaries
    assert res["by_noise"][0]["boundary_f1"] > res["by_noise"][-1]["boundary_f1"]


def test_real_dm4_micrograph_goes_through_the_pipeline_with_its_calibration(tmp_path):
    from microscopy_files import write_dm
    m, img = synthetic_image(96, 25, 0.03, 1.0, np.random.default_rng(3))
    write_dm(tmp_path / "real.dm4", img.astype(np.float32), pixel_size=2.5, unit="nm", version=4)
    res, out = _run(tmp_path, real_images=[str(tmp_path / "real.dm4")])
    src = res["images"][0]["source_file"]
    assert src["format"].lower().startswith("dm") and src["pixel_size_source"] == "file"
    assert res["pixel_size_m"] == pytest.approx(2.5e-9) and res["synthetic"] is False
    assert json.loads(json.dumps(src)) == src            # metadata is JSON as written to measurements.json
    assert res["n_grains"] == pytest.approx(grain_statistics(m.labels, 2.5e-9)["n_grains"], rel=0.3)


def test_mean_linear_intercept_of_a_square_grid():
    """Squares of side a: each row and column of a 10a-wide field crosses 9 boundaries, so the
    intercept is (10a - 1) / 9 ~ a; a twice finer grid halves it."""
    from msgnn.microscopy.facets import mean_linear_intercept_px
    a = 12
    yy, xx = np.mgrid[0:10 * a, 0:10 * a]
    grid = (yy // a) * 10 + xx // a + 1
    assert mean_linear_intercept_px(grid) == pytest.approx((10 * a - 1) / 9)
    fine = (yy // (a // 2)) * 20 + xx // (a // 2) + 1
    assert mean_linear_intercept_px(fine) == pytest.approx((10 * a - 1) / 19)
    assert mean_linear_intercept_px(np.ones((8, 8), int)) == float("inf")


def _series(noise, seed=4):
    from msgnn.microscopy.pipeline import natural_microstructure
    from msgnn.microscopy.simulate import render_series, series_times
    m = natural_microstructure(160, 30, np.random.default_rng(seed))
    times = np.concatenate([[0.0], series_times(5)])
    return m, times, render_series(m, times, np.random.default_rng([seed, 1]), noise=noise)


def test_facet_growth_rates_recover_G_in_physical_units():
    """Johnson-Mehl fronts move at G: the per-facet rates from the true crystal masks, and from
    the rendered in-situ series at the default noise, have a median within 5 % of G; the crystal
    masks match the truth away from the fronts' 4 px halo (groove + blur); times scale the rates."""
    from msgnn.microscopy.growth import crystal_masks, facet_growth_rates, summarize
    m, times, frames = _series(0.08)
    px_m, tau_s, G = 2e-9, 4e-3, 2e-9 / 4e-3 / m.pixel_size_m   # ell = px_m / pixel_size, G = ell / tau
    truth = np.stack([m.arrival_time_s <= t for t in times[1:]])
    exact = facet_growth_rates(truth, times[1:] * tau_s, m.labels, px_m)
    assert summarize(exact["rate_m_per_s"])["median_m_per_s"] == pytest.approx(G, rel=0.05)
    masks, info = crystal_masks(frames[1:], frames[0])
    from scipy import ndimage as ndi
    for mk, tr in zip(masks, truth):
        far = ndi.distance_transform_edt(tr) + ndi.distance_transform_edt(~tr) > 4
        assert (mk == tr)[far].mean() > 0.97
    labels, _ = segment_grains(render_micrograph(m.labels, np.random.default_rng(9), noise=0.08))
    res = facet_growth_rates(masks, times[1:] * tau_s, labels, px_m)
    med = summarize(res["rate_m_per_s"])["median_m_per_s"]
    assert med == pytest.approx(G, rel=0.05)
    assert len(res["rate_m_per_s"]) == labels.max() and np.isfinite(res["rate_m_per_s"]).sum() >= 10
    slow = facet_growth_rates(masks, times[1:] * 2 * tau_s, labels, px_m)
    assert summarize(slow["rate_m_per_s"])["median_m_per_s"] == pytest.approx(med / 2)
    with pytest.raises(ValueError, match="increase"):
        facet_growth_rates(masks, times[1:][::-1], labels, px_m)


def test_crystal_masks_need_the_reference_frame():
    """Without flat-fielding by the pre-nucleation frame, the illumination gradient (here made
    strong) would be read as crystal: a flat reference leaves most of the matrix misclassified."""
    from msgnn.microscopy.growth import crystal_masks
    from msgnn.microscopy.simulate import render_series
    from msgnn.microscopy.pipeline import natural_microstructure
    m = natural_microstructure(128, 20, np.random.default_rng(2))
    frames = render_series(m, [0.0, 0.6], np.random.default_rng(3), noise=0.05, illumination=0.8)
    truth = m.arrival_time_s <= 0.6
    good, _ = crystal_masks(frames[1:], frames[0])
    bad, _ = crystal_masks(frames[1:], np.ones_like(frames[0]) * frames[0].mean())
    assert (good[0] == truth).mean() > 0.85
    assert (bad[0] == truth).mean() < (good[0] == truth).mean() - 0.1


def test_real_in_situ_series_gives_facet_growth_rates(tmp_path):
    """A real series (reference, frames, final micrograph as calibrated TIFFs with their times)
    goes through the pipeline: the final frame is segmented and the facet growth rates come out
    in m/s; frames that do not match, or times that do not increase, are clear errors."""
    from msgnn.microscopy.pipeline import natural_microstructure
    from msgnn.microscopy.simulate import render_series, series_times
    m = natural_microstructure(128, 20, np.random.default_rng(6))
    times = np.concatenate([[0.0], series_times(4), [50.0]])     # final frame: fully transformed
    frames = render_series(m, times, np.random.default_rng(7), noise=0.05)
    px_m, tau_s = 5e-9, 1e-3
    files = []
    for k, f in enumerate(frames):
        files.append(str(tmp_path / f"frame_{k}.tif"))
        write_micrograph(files[-1], f, px_m)
    series = {"files": files, "times_s": list(times * tau_s)}
    res, out = _run(tmp_path / "run", real_series=series)
    G = px_m / m.pixel_size_m / tau_s                 # ell / tau in m/s
    assert res["synthetic"] is False and res["n_images"] == 1
    assert res["facet_growth"]["median_m_per_s"] == pytest.approx(G, rel=0.1)
    assert res["images"][0]["source_file"]["times_s"][1] == pytest.approx(times[1] * tau_s)
    write_micrograph(tmp_path / "small.tif", frames[2][:64, :64], px_m)
    with pytest.raises(InputFileError, match="small.tif.*shape"):
        _run(tmp_path / "bad", real_series={**series, "files": [files[0], files[1], str(tmp_path / "small.tif"),
                                                                *files[3:]]})
    with pytest.raises(InputFileError, match="increase"):
        _run(tmp_path / "bad2", real_series={**series, "times_s": series["times_s"][::-1]})


def test_a_featureless_micrograph_is_measured_as_what_it_is(tmp_path):
    """Noise only, no grains: the job says no grains were resolved (measurements.json, the log) with
    the sizes None, instead of a JSON error on NaN naming no file."""
    rng = np.random.default_rng(0)
    write_micrograph(tmp_path / "noise.tif", rng.normal(100, 10, (128, 128)).astype(np.float32), 1e-8)
    res, out = _run(tmp_path / "run", real_images=[str(tmp_path / "noise.tif")])
    m = json.loads(out.measurements.read_text())
    assert m["images"][0]["mean_grain_size_m"] is None and m["mean_grain_size_m"] is None
    assert "no grains resolved" in m["images"][0]["note"] and "no grains resolved in 1 of 1" in m["note"]
    assert m["n_grains"] == 0.5                          # the one region, cut by the border


def test_a_failed_condition_leaves_no_partial_outputs(tmp_path, monkeypatch):
    import msgnn.microscopy.pipeline as pipeline

    def fail(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(pipeline, "write_json", fail)    # the last output fails
    write_micrograph(tmp_path / "noise.tif", np.random.default_rng(1).normal(0, 1, (96, 96)).astype(np.float32), 1e-8)
    with pytest.raises(OSError, match="disk full"):
        _run(tmp_path / "run", real_images=[str(tmp_path / "noise.tif")])
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())
