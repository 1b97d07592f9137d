"""Solid/liquid classification with the real LAMMPS computes, on tiny bulk samples."""
import pytest

from msgnn.errors import InputFileError, SimulationError
from md_helpers import AL, SI, bulk_solid_fraction
from msgnn.md.lammps_env import potentials_dir, resolve_potential
from msgnn.md.settings import SlabSettings
from msgnn.md.slab import measure_densities


@pytest.mark.parametrize("material", [AL, SI], ids=["fcc-Al", "diamond-Si"])
def test_perfect_crystal_is_solid_with_first_shell_coordination(material):
    r = bulk_solid_fraction(material, 1.0, steps=0)
    assert r["solid_fraction"] == 1.0
    assert r["mean_coordination"] == pytest.approx(12 if material.lattice == "fcc" else 4)


@pytest.mark.parametrize("material,T", [(AL, 0.9 * 926), (SI, 0.9 * 1691)], ids=["fcc-Al", "diamond-Si"])
def test_hot_crystal_is_solid_and_liquid_is_not(material, T):
    crystal = bulk_solid_fraction(material, T, steps=400)
    liquid = bulk_solid_fraction(material, T, liquid=True, steps=400)
    assert crystal["solid_fraction"] > 0.97
    assert liquid["solid_fraction"] < 0.05
    assert crystal["mean_q6"] > liquid["mean_q6"]


def test_thermal_expansion_and_liquid_volume_are_physical():
    d = measure_densities(AL, 900.0, 3, SlabSettings.defaults(expansion_steps=400))
    a_T, v_liq, v_melt = d.a_T, d.v_liquid, d.v_melt
    v_xtal = a_T ** 3 / 4
    assert 4.05 < a_T < 4.2                      # Al expands ~2 % from 0 K to 0.97 Tm
    assert 1.02 < v_liq / v_xtal < 1.12          # Al's liquid is ~6 % less dense
    assert v_melt > v_liq
    assert 0.05 < d.pe_liquid_eV - d.pe_crystal_eV < 0.25   # the latent heat (Al_mm: ~0.14 eV/atom)


def test_bad_potential_file_raises_simulation_error_naming_it(tmp_path):
    bad = tmp_path / "broken.eam.fs"
    bad.write_text("this is not an EAM file\n1 2 3\n")
    with pytest.raises(SimulationError, match="broken.eam.fs"):
        measure_densities(AL.replace(potential=str(bad)), 800.0, 1, SlabSettings.defaults(expansion_steps=100))


def test_missing_potential_is_an_input_error():
    with pytest.raises(InputFileError, match="no_such.eam"):
        resolve_potential("no_such.eam")
    assert resolve_potential("Si.sw") == potentials_dir() / "Si.sw"
