"""The four structure families of the materials library (fcc, bcc, hcp, diamond) with real LAMMPS
runs: lattices and interface orientations, and the solid/liquid classifier's accuracy on bulk
crystal and bulk liquid at Tm as measured by the descriptor runs (msgnn.md.bulk)."""
import math

import numpy as np
import pytest

from md_helpers import AL, FE, MG, SI, bulk_solid_fraction
from msgnn.errors import ConfigError
from msgnn.md.bulk import bulk_descriptors, diffusivity
from msgnn.md.settings import BulkSettings, SlabSettings
from msgnn.md.slab import measure_densities
from msgnn.md.structure import LATTICES, lattice_command, repeat_cells
from msgnn.workflow.config import orientations, validate

FAMILIES = [AL, FE, MG, SI]
IDS = ["fcc-Al", "bcc-Fe", "hcp-Mg", "diamond-Si"]
TINY = BulkSettings.defaults(target_atoms=250, equilibrate_steps=300, average_steps=400, melt_steps=600,
                             msd_steps=600, sample_every=100)


@pytest.mark.parametrize("orientation", ["0001", "10-10"])
def test_hcp_lattice_is_a_perfect_twelve_coordinated_solid_in_both_orientations(orientation):
    r = bulk_solid_fraction(MG, 1.0, steps=0, orientation=orientation, cells=4)
    assert r["solid_fraction"] == 1.0
    assert r["mean_coordination"] == pytest.approx(12)
    assert r["n_atoms"] == 4 * 4 ** 3


def test_hcp_volume_per_atom_and_rotated_boxes():
    a, q = 3.2, 1.62
    assert LATTICES["hcp"].volume_per_atom(a, q) == pytest.approx(math.sqrt(3) / 4 * q * a ** 3)
    assert LATTICES["fcc"].volume_per_atom(4.0) == pytest.approx(16.0)
    # a (111) or prismatic slab is about as large as the (100) or basal one it replaces
    assert repeat_cells("fcc", "111", [4, 4, 24]) == (3, 2, 14)
    assert repeat_cells("fcc", "100", [4, 4, 24]) == (4, 4, 24)
    assert repeat_cells("hcp", "10-10", [5, 3, 16], q) == (3, 5, 15)
    assert "custom" in lattice_command("hcp", a, "10-10", q)
    with pytest.raises(ValueError, match="0001"):
        lattice_command("hcp", a, "111")
    with pytest.raises(ValueError, match="100"):
        lattice_command("fcc", 4.0, "0001")


def test_orientations_must_fit_the_lattice():
    mg = {"element": "Mg", "potential": "Mg_mm.eam.fs", "pair_style": "eam/fs", "lattice": "hcp",
          "lattice_constant_A": 3.21, "reference_melting_point_K": 914, "temperatures_K": [800, 850]}
    with pytest.raises(ConfigError, match="hcp material its own 'orientations'"):
        validate({"materials": {"Mg": mg}})
    cfg = validate({"materials": {"Mg": {**mg, "orientations": ["0001", "10-10"]}}})
    assert orientations(cfg, "Mg") == ["0001", "10-10"]
    with pytest.raises(ConfigError, match="materials.Al.orientations"):
        validate({"materials": {"Al": {**mg, "element": "Al", "lattice": "fcc", "orientations": ["0001"]}}})


def test_hcp_crystal_relaxes_its_own_c_over_a():
    d = measure_densities(MG, 800.0, 3, SlabSettings.defaults(expansion_steps=600))
    assert 1.58 < d.c_over_a < 1.68 and d.c_over_a != pytest.approx(math.sqrt(8 / 3), abs=1e-6)
    assert 3.15 < d.a_T < 3.35


@pytest.mark.parametrize("material", FAMILIES, ids=IDS)
def test_classifier_tells_crystal_from_liquid_at_tm_in_every_family(material):
    tm = float(material.reference_melting_point_K)
    d = bulk_descriptors(material, TINY, tm, [0.9 * tm, tm], seed=5, melt_temperature_factor=1.6,
                         barostat_damp_ps=1.0)
    cl = d["classifier"]
    assert cl["crystal_solid_fraction"] > 0.95
    assert cl["liquid_solid_fraction"] < 0.1
    assert 0.03 < d["latent_heat_eV_per_atom"] < 0.5
    # the liquid is less dense than the crystal, except for diamond Si, whose liquid is denser
    ratio = d["liquid"]["volume_per_atom_A3"] / d["crystal"]["volume_per_atom_A3"]
    assert (0.85 < ratio < 0.99) if material.lattice == "diamond" else (1.0 < ratio < 1.12)
    # first peak of g(r) near the nearest-neighbour distance
    nn = {"fcc": math.sqrt(0.5), "bcc": math.sqrt(3) / 2, "hcp": 1.0, "diamond": math.sqrt(3) / 4}[material.lattice]
    assert d["liquid"]["rdf_first_peak_A"] == pytest.approx(nn * material.lattice_constant_A, rel=0.12)
    D = [x["diffusivity_m2_per_s"] for x in d["diffusion"]]
    assert all(5e-10 < x < 3e-8 for x in D)      # liquid metals and Si near Tm: a few 1e-9 m^2/s
    if material.lattice == "hcp":
        assert 1.55 < d["crystal"]["c_over_a"] < 1.7


def test_diffusivity_is_the_einstein_slope_over_the_second_half():
    t = np.linspace(0.1, 10, 50)
    msd = 6 * 0.3 * t + 0.5 * np.exp(-t)         # D = 0.3 A^2/ps after a ballistic start
    D, err = diffusivity(t, msd)
    assert D == pytest.approx(0.3e-8, rel=0.01) and err < 0.01 * D


def test_a_slab_narrower_than_twice_the_cutoff_is_reported(caplog):
    """Al_mm's table reaches 6.5 Å (read by ASE); in a 3x3-cell slab (12.2 Å across) atoms feel their
    own periodic images, in 4x4 (16.2 Å) they do not."""
    from msgnn.md.slab import build_two_phase
    from msgnn.md.system import open_lammps, pair_cutoff_A

    assert pair_cutoff_A(AL) == pytest.approx(6.5)
    md = SlabSettings.defaults(orientation="100", cells=[3, 3, 8], melt_steps=10, equilibrate_steps=10).for_material(AL)
    dens = measure_densities(AL, 900.0, 1, md.replace(cells=[4, 4, 8]))
    for cells, warned in (([3, 3, 8], True), ([4, 4, 8], False)):
        caplog.clear()
        with open_lammps(AL, f"Al {cells}") as c:
            build_two_phase(c, AL, md.replace(cells=cells), dens, 900.0, 1)
        assert ("own periodic images" in caplog.text) == warned, caplog.text
