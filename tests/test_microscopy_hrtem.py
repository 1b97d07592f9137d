"""Atomic-resolution micrographs (abTEM, real runs on tiny cells) and lattice-fringe segmentation.

The slabs are built here (ase fcc Al crystal + random dense liquid), so nothing depends on
results/. Simulation settings are coarsened (thinner specimen, coarser grids) to keep the whole
file fast; the defaults are exercised by benchmarks/microscopy_hrtem.py.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from msgnn.errors import ConfigError, InputFileError
from msgnn.graphs.settings import GraphSettings
from msgnn.md.snapshots import read_snapshots
from msgnn.microscopy import fringes
from msgnn.microscopy.hrtem import (CLUSTER_FEATURES, OUTPUT_FILES, Frame, MicrographSettings, analyse_image,
                                    frame, process_hrtem_condition, simulate_haadf, simulate_hrtem,
                                    snapshot_atoms)
from msgnn.microscopy.io import read_image

A_AL = 4.05
FAST = {"thickness_A": 13.0,                                   # one 3-cell repeat: ~12 Å thick
        "hrtem": {"sampling_A": 0.05, "pixel_size_A": 0.1},
        "haadf": {"sampling_A": 0.06, "detector_inner_mrad": 60.0, "detector_outer_mrad": 105.0,
                  "scan_step_A": 0.5, "probe_semiangle_mrad": 18.0, "prism_window_A": 6.0},
        "fringes": {"window_A": 10.0}}


def _random_liquid(rng, box_lo, box_hi, n, existing=np.zeros((0, 3)), L=None, dmin=2.2):
    """Random sequential addition of `n` points in [box_lo, box_hi) with a periodic (cell L)
    minimum distance `dmin` to each other and to `existing`: a liquid-like dense random packing."""
    pts = [p for p in existing]
    n0 = len(pts)
    while len(pts) < n0 + n:
        cand = box_lo + rng.random((256, 3)) * (box_hi - box_lo)
        for p in cand:
            if pts:
                d = np.asarray(pts) - p
                d -= L * np.round(d / L)
                if np.einsum("ij,ij->i", d, d).min() < dmin ** 2:
                    continue
            pts.append(p)
            if len(pts) == n0 + n:
                break
    return np.asarray(pts[n0:])


def _fcc(nx, ny, nz, a=A_AL):
    basis = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    cells = np.array([[i, j, k] for i in range(nx) for j in range(ny) for k in range(nz)], float)
    return ((cells[:, None, :] + basis[None]) * a).reshape(-1, 3)


def make_slab(seed=0, lateral=3, crystal_cells=6, liquid_A=20.0, density=0.053):
    """(positions, cell lengths, solid labels, interface z) of a periodic crystal–liquid slab:
    fcc Al (thermal jitter 0.08 Å) between z = 2.5 and 2.5 + crystal_cells a, liquid elsewhere."""
    rng = np.random.default_rng(seed)
    xtal = _fcc(lateral, lateral, crystal_cells) + np.array([0.0, 0.0, 2.5 + A_AL / 4])
    xtal += rng.normal(0, 0.08, xtal.shape)
    L = np.array([lateral * A_AL, lateral * A_AL, crystal_cells * A_AL + liquid_A])
    zl, zh = 2.5, 2.5 + crystal_cells * A_AL
    n_liq = int(round(density * L[0] * L[1] * liquid_A))
    liq = _random_liquid(rng, np.array([0, 0, zh + 0.8]), np.array([L[0], L[1], zh + liquid_A - 0.8]), n_liq,
                         existing=xtal, L=L)
    liq[:, 2] %= L[2]
    pos = np.concatenate([xtal, liq]) % L
    solid = np.r_[np.ones(len(xtal), bool), np.zeros(len(liq), bool)]
    return pos, L, solid, np.array([zl, zh])


def write_snapshots(path, pos, L, solid, zi, frames=1, **extra):
    F = frames
    data = {"positions_A": np.repeat(pos[None], F, 0), "cell_A": np.repeat(np.diag(L)[None], F, 0),
            "origin_A": np.zeros((F, 3)), "time_ps": np.arange(1, F + 1, dtype=float),
            "solid": np.repeat(solid[None], F, 0), "interface_z_A": np.repeat(zi[None], F, 0),
            "element": np.array("Al"), "lattice": np.array("fcc"),
            "structure_type": np.zeros((F, len(pos)), np.int64), "pe_eV": np.zeros((F, len(pos))),
            "coordination": np.full((F, len(pos)), 12), "q6": np.zeros((F, len(pos)))}
    data.update(extra)
    np.savez(path, **data)
    return path


@pytest.fixture(scope="module")
def slab():
    return make_slab()


@pytest.fixture(scope="module")
def fast():
    return MicrographSettings.defaults(**FAST)


# ----------------------------------------------------------------------------- fringes without abTEM

def test_interface_positions_on_a_periodic_mask():
    mask = np.zeros((10, 200), bool)
    mask[:, 30:150] = True                     # crystal from column 30 to 149
    lo, hi = fringes.interface_positions(mask, 0.5)
    assert lo == pytest.approx(14.75) and hi == pytest.approx(74.75)
    wrapped = np.roll(mask, 100, axis=1)       # the crystal now wraps around the cell edge
    lo, hi = fringes.interface_positions(wrapped, 0.5)
    assert lo == pytest.approx(64.75) and hi == pytest.approx(24.75)
    assert fringes.interface_positions(np.ones((4, 50), bool), 1.0) is None
    assert fringes.periodic_error(99.0, 1.0, 100.0) == pytest.approx(-2.0)


def test_fringe_strength_separates_a_lattice_from_noise():
    """A 2 Å square lattice in the left half, white noise on the right: strength high only on the
    left, Otsu mask and interfaces at the boundaries (within the window's smoothing)."""
    rng = np.random.default_rng(1)
    px = 0.1
    y, z = np.meshgrid(np.arange(160) * px, np.arange(800) * px, indexing="ij")
    lattice = np.cos(2 * np.pi * y / 2.0) + np.cos(2 * np.pi * z / 2.0)
    img = rng.normal(0, 1.0, y.shape)
    img[:, 200:600] += lattice[:, 200:600]
    seg = fringes.segment_fringes(img, px, window_A=10.0)
    assert seg.info["decision"] == "otsu"
    assert np.median(seg.strength[:, 300:500]) > seg.info["disorder_reference"] + 0.5
    assert np.median(seg.strength[:, 650:750]) < seg.info["disorder_reference"]
    lo, hi = fringes.interface_positions(seg.mask, px)
    assert abs(lo - 20.0) < 2.0 and abs(hi - 60.0) < 2.0


def test_truth_mask_and_metrics(slab):
    pos, L, solid, zi = slab
    shape = (int(L[1] / 0.2), int(L[2] / 0.2))
    truth = fringes.truth_mask(pos, solid, L, shape, (L[1] / shape[0], L[2] / shape[1]))
    zc = (np.arange(shape[1]) + 0.5) * L[2] / shape[1]
    inside = (zc > zi[0] + 2) & (zc < zi[1] - 2)
    outside = (zc < zi[0] - 2) | (zc > zi[1] + 2)
    assert truth[:, inside].all() and not truth[:, outside].any()
    m = fringes.segmentation_metrics(truth, truth, L[2] / shape[1], zi, solid.mean())
    assert m["pixel_accuracy"] == 1.0 and m["crystalline_iou"] == 1.0
    assert max(abs(e) for e in m["interface_errors_A"]) < 1.5


# ----------------------------------------------------------------------------- abTEM

def test_crystal_has_fringes_and_random_liquid_has_none(fast):
    rng = np.random.default_rng(3)
    L = np.array([3 * A_AL, 3 * A_AL, 6 * A_AL])
    xtal = _fcc(3, 3, 6) + rng.normal(0, 0.08, (216, 3))
    liq = _random_liquid(rng, np.zeros(3), L, int(0.053 * L.prod()), L=L)
    out = {}
    for name, pos, solid in (("crystal", xtal % L, np.ones(len(xtal), bool)),
                             ("liquid", liq % L, np.zeros(len(liq), bool))):
        fr = Frame(pos, L, solid, np.zeros(2), "Al", None)
        sim = simulate_hrtem(fr, fast, seed=1)
        out[name] = analyse_image(sim, fr, fast)["segmentation"]
    ref = out["crystal"].info["disorder_reference"]
    assert np.median(out["crystal"].strength) > ref + 0.4
    assert np.median(out["liquid"].strength) < ref
    assert out["crystal"].info["decision"] == "single phase: crystalline" and out["crystal"].mask.all()
    assert out["liquid"].info["decision"] == "single phase: disordered" and not out["liquid"].mask.any()


def test_hrtem_pixel_size_metadata_and_interfaces(slab, fast):
    import abtem
    pos, L, solid, zi = slab
    fr = Frame(pos, L, solid, zi, "Al", 1.0)
    sim = simulate_hrtem(fr, fast, seed=2)
    assert sim.image.dtype == np.float32
    assert sim.image.shape == (round(L[1] / 0.1), round(L[2] / 0.1))
    assert sim.pixel_size_m == pytest.approx(0.1e-10, rel=0.01)
    yz = sim.metadata["pixel_size_yz_A"]
    assert yz[0] == pytest.approx(L[1] / sim.image.shape[0]) and yz[1] == pytest.approx(L[2] / sim.image.shape[1])
    m = sim.metadata
    assert m["synthetic"] is True and m["abtem"] == abtem.__version__ and m["modality"] == "HRTEM"
    assert m["Cs_A"] == pytest.approx(-15e4) and m["energy_keV"] == 300.0
    assert m["defocus_A"] == pytest.approx(-np.sqrt(1.5 * 15e4 * 0.01969), rel=0.01)   # Scherzer for Cs < 0
    assert m["thickness_A"] == pytest.approx(L[0])
    assert 0.9 < float(sim.image.mean()) < 1.1          # vacuum-normalised, weak-phase-like mean
    an = analyse_image(sim, fr, fast)
    acc = an["accuracy"]
    assert acc["both_phases_detected"] and acc["pixel_accuracy"] > 0.9 and acc["crystalline_iou"] > 0.85
    assert max(abs(e) for e in acc["interface_errors_A"]) < 3.5
    # the dose matters: a noise-free image differs, the same seed reproduces the noise
    again = simulate_hrtem(fr, fast, seed=2)
    assert np.array_equal(again.image, sim.image)
    clean = simulate_hrtem(fr, MicrographSettings.defaults(**{**FAST, "hrtem": {**FAST["hrtem"], "dose_e_per_A2": 0}}))
    assert not np.array_equal(clean.image, sim.image) and clean.image.std() < sim.image.std()


def test_snapshot_atoms_puts_the_beam_along_md_x(slab):
    pos, L, solid, zi = slab
    atoms = snapshot_atoms(Frame(pos, L, solid, zi, "Al", None), thickness_A=2.2 * L[0])
    assert np.allclose(np.diag(atoms.cell), [L[1], L[2], 2 * L[0]])
    assert len(atoms) == 2 * len(pos)
    assert np.allclose(atoms.positions[: len(pos)], pos[:, [1, 2, 0]])


def test_process_condition_end_to_end(tmp_path, slab, fast):
    pos, L, solid, zi = slab
    npz = write_snapshots(tmp_path / "snapshots.npz", pos, L, solid, zi, frames=2)
    out = tmp_path / "hrtem"
    m = process_hrtem_condition(npz, out, fast, seed=5, graphs=GraphSettings(interface_width_A=6.0, cluster_size_A=6.0),
                                material="Al", temperature_K=900, timing_json=tmp_path / "timing.json")
    for name in OUTPUT_FILES.values():
        assert (out / name).is_file(), name
    # TIFFs carry the pixel size and say synthetic
    for key, modality in (("hrtem", "HRTEM"), ("haadf", "HAADF-STEM")):
        mic = read_image(out / OUTPUT_FILES[key])
        assert mic.pixel_size_source == "file"
        assert mic.pixel_size_m == pytest.approx(m[key]["pixel_size_m"], rel=1e-6)
        assert mic.metadata["description"]["synthetic"] is True
        assert mic.metadata["description"]["modality"] == modality
    assert m["haadf"]["pixel_size_m"] == pytest.approx(0.5e-10, rel=0.03)
    assert m["haadf"]["metadata"]["detector_mrad"] == [60.0, 105.0]
    # accuracy of both segmentations against the built slab
    for key in ("hrtem", "haadf"):
        acc = m[key]["accuracy"]
        assert acc["pixel_accuracy"] > 0.85, (key, acc)
        assert max(abs(e) for e in acc["interface_errors_A"]) < 4.0, (key, acc)
    saved = json.loads((out / OUTPUT_FILES["measurements"]).read_text())
    assert saved["synthetic"] is True and saved["abtem_version"] == m["hrtem"]["metadata"]["abtem"]
    assert "seconds" not in json.dumps(saved)                      # run times only in the timing file
    timing = json.loads((tmp_path / "timing.json").read_text())
    assert timing["time_per_image_s"]["haadf"] > 0 and len(timing["hrtem_frames"]) == 2
    # per-cluster crystallinity, aligned with the atomic graph's clusters
    from msgnn.graphs.atomic import build_atomic_graphs
    graphs = build_atomic_graphs(npz, GraphSettings(interface_width_A=6.0, cluster_size_A=6.0))
    feats = torch.load(out / OUTPUT_FILES["clusters"])
    assert feats["feature_names"] == CLUSTER_FEATURES and feats["frames"] == [0, 1] and feats["synthetic"]
    for g, x in zip(graphs, feats["cluster_x"]):
        assert x.dtype == torch.float32 and x.shape == (g["cluster_x"].shape[0], 2)
        solid_fraction = g["cluster_x"][:, 1]
        xtal = x[:, 0][solid_fraction > 0.9]
        liq = x[:, 0][solid_fraction < 0.1]
        assert xtal.numel() and liq.numel()
        assert xtal.min() > 0.6 and liq.max() < 0.4, (solid_fraction, x[:, 0])
    assert feats["haadf_cluster_x"].shape == feats["cluster_x"][-1].shape


# ----------------------------------------------------------------------------- bad input

def test_bad_snapshots_raise_errors_naming_the_file(tmp_path, slab):
    pos, L, solid, zi = slab
    with pytest.raises(InputFileError, match="file not found"):
        read_snapshots(tmp_path / "absent.npz")
    p = tmp_path / "nokey.npz"
    np.savez(p, positions_A=pos[None], cell_A=np.diag(L)[None], solid=solid[None], element=np.array("Al"))
    with pytest.raises(InputFileError, match=r"nokey\.npz.*interface_z_A"):
        read_snapshots(p)
    empty = write_snapshots(tmp_path / "empty.npz", pos[:0], L, solid[:0], zi)
    with pytest.raises(InputFileError, match=r"empty\.npz.*empty snapshot"):
        read_snapshots(empty)
    bad = pos.copy()
    bad[7, 1] = np.nan
    nan = write_snapshots(tmp_path / "nan.npz", bad, L, solid, zi)
    with pytest.raises(InputFileError, match=r"nan\.npz.*non-finite.*frame 0, atom 7"):
        read_snapshots(nan)
    with pytest.raises(InputFileError, match=r"nan\.npz"):
        process_hrtem_condition(nan, tmp_path / "o", MicrographSettings.defaults(**FAST),
                                graphs=GraphSettings(interface_width_A=6.0, cluster_size_A=6.0))
    assert not (tmp_path / "o").exists()
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputFileError, match=r"corrupt\.npz.*not a readable"):
        read_snapshots(corrupt)


def test_bad_settings_raise_config_errors():
    with pytest.raises(ConfigError, match="detector_outer_mrad.*exceeds"):
        MicrographSettings.defaults(haadf={"sampling_A": 0.1, "detector_outer_mrad": 200}).check_detector()
    with pytest.raises(ConfigError, match="unknown key"):
        MicrographSettings.defaults(hrtem={"cs": 1})
    with pytest.raises(ConfigError, match="hrtem.pixel_size_A"):
        MicrographSettings.defaults(hrtem={"pixel_size_A": 0.01})
    with pytest.raises(ConfigError, match="thickness_A"):
        MicrographSettings.defaults(thickness_A=-1)


def test_frame_uses_box_coordinates(tmp_path, slab):
    pos, L, solid, zi = slab
    p = write_snapshots(tmp_path / "s.npz", pos + 5.0, L, solid, zi + 5.0, origin_A=np.full((1, 3), 5.0))
    fr = frame(read_snapshots(p), 0)
    assert np.allclose(fr.positions_A, pos % L) and np.allclose(fr.interface_z_A, zi)


def test_haadf_is_z_contrast_and_resolves_the_lattice(slab, fast):
    """HAADF: a small fraction of the probe reaches the 60-105 mrad annulus; the lattice is resolved well
    enough for the fringe segmentation to find the crystal."""
    pos, L, solid, zi = slab
    fr = Frame(pos, L, solid, zi, "Al", None)
    sim = simulate_haadf(fr, MicrographSettings.defaults(**{**FAST, "haadf": {**FAST["haadf"], "dose_e_per_A2": 0}}))
    assert sim.image.shape == tuple(int(np.ceil(L[i] / 0.5)) for i in (1, 2))
    assert sim.metadata["prism_plane_waves"] > 10 and sim.metadata["synthetic"] is True
    assert 0 < sim.image.mean() < 0.05
    an = analyse_image(sim, fr, fast)
    assert an["accuracy"]["pixel_accuracy"] > 0.85
