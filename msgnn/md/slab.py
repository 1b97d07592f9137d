"""Crystal–liquid slab simulations with LAMMPS: build, melt half, quench the liquid, grow at T.

One call, `run_condition`, does one (material, temperature) condition and returns the run record
(run.json content) and the snapshot arrays (snapshots.npz content). `write_run` writes both
atomically. Any LAMMPS error, lost atom or non-finite energy raises SimulationError.
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np

from msgnn import provenance
from msgnn.errors import SimulationError
from msgnn.io import atomic_path, write_json
from msgnn.md import fit
from msgnn.md.lammps_env import Lammps, resolve_potential
from msgnn.md.structure import LATTICES, classification_commands, lattice_command, structure_types

log = logging.getLogger(__name__)

K_B_EV = 8.617333262e-5        # eV/K
MD_DEFAULTS = {"orientation": "100", "cells": [5, 5, 20], "melt_temperature_factor": 1.6,
               "melt_steps": 3000, "equilibrate_steps": 1000, "growth_steps": 15000,
               "sample_every": 250, "snapshots": 4, "expansion_steps": 1000,
               "thermostat_damp_ps": 0.5, "barostat_damp_ps": 1.0, "transient_ps": 3.0,
               "interface_probe_A": 5.0, "min_phase_thickness_A": 12.0}


def _suffix(pair_style: str) -> str | None:
    return "opt" if pair_style in ("eam", "eam/alloy", "eam/fs") else ("omp" if pair_style in ("sw", "tersoff") else None)


def _mass(material: dict) -> float:
    if "mass_amu" in material:
        return float(material["mass_amu"])
    from pymatgen.core import Element
    return float(Element(material["element"]).atomic_mass)


def _setup_potential(lmp: Lammps, material: dict, potential: Path) -> None:
    lmp(f"mass 1 {_mass(material):.6f}")
    lmp(f"pair_style {material['pair_style']}")
    if material["pair_style"] == "eam":
        lmp(f"pair_coeff 1 1 {potential}")
    else:
        lmp(f"pair_coeff * * {potential} {material['element']}")


def _check_finite(lmp: Lammps, what: str) -> float:
    pe = lmp.lmp.get_thermo("pe")
    if not math.isfinite(pe):
        raise SimulationError(f"{lmp.context}: non-finite potential energy during {what} (the run blew up)")
    return pe


def measure_densities(material: dict, temperature_K: float, seed: int, steps: int = 1000,
                      melt_temperature_K: float | None = None,
                      scripts: list | None = None) -> tuple[float, float | None, float | None]:
    """(crystal lattice constant at T in Å, liquid volume per atom at T and at the melt
    temperature in Å^3) from short NPT runs of a small periodic box: the perfect crystal, then
    the same box melted, then brought back to T. With steps = 0: (config lattice constant, None, None)."""
    potential = resolve_potential(material["potential"])
    a0 = float(material["lattice_constant_A"])
    if steps <= 0:
        return a0, None, None
    n = {"diamond": 3, "fcc": 4, "bcc": 5}[material["lattice"]]
    T = float(temperature_K)
    t_melt = melt_temperature_K or 1.6 * float(material["reference_melting_point_K"])
    half = max((steps // 2) // 10 * 10, 10)
    with Lammps(_suffix(material["pair_style"]), context=f"{material['element']} NPT crystal/liquid at {T:g} K") as lmp:
        lmp("units metal"); lmp("atom_style atomic"); lmp("boundary p p p")
        lmp(f"lattice {material['lattice']} {a0}")
        lmp(f"region box block 0 {n} 0 {n} 0 {n}")
        lmp("create_box 1 box"); lmp("create_atoms 1 box")
        _setup_potential(lmp, material, potential)
        lmp(f"timestep {material.get('timestep_fs', 2.0) / 1000:.6f}")
        lmp("thermo 0")
        lmp(f"velocity all create {2 * T} {seed} mom yes rot yes dist gaussian")
        lmp(f"fix npt all npt temp {T} {T} 0.1 iso 0 0 1.0")
        lmp(f"run {max(steps - half, 0)}")
        lmp("variable lx_now equal lx")
        lmp("variable vol_now equal vol/atoms")
        lmp("reset_timestep 0")
        lmp(f"fix avg all ave/time 10 {half // 10} {half} v_lx_now")
        lmp(f"run {half}")
        _check_finite(lmp, "the NPT crystal run")
        a_T = float(lmp.lmp.extract_fix("avg", 0, 0)) / n
        lmp("unfix avg"); lmp("unfix npt")
        lmp(f"displace_atoms all random {0.1 * a0:.4f} {0.1 * a0:.4f} {0.1 * a0:.4f} {seed} units box")
        lmp(f"velocity all create {t_melt:.2f} {seed + 1} mom yes rot yes dist gaussian")
        lmp(f"fix npt all npt temp {t_melt:.2f} {t_melt:.2f} 0.1 iso 0 0 1.0")
        lmp(f"run {half}")
        lmp("reset_timestep 0")
        lmp(f"fix avg all ave/time 10 {half // 20} {half // 2} v_vol_now")
        lmp(f"run {half // 2}")
        _check_finite(lmp, "the NPT melt run")
        v_melt = float(lmp.lmp.extract_fix("avg", 0, 0))
        lmp("unfix avg"); lmp("unfix npt")
        lmp(f"fix npt all npt temp {T} {T} 0.1 iso 0 0 1.0")
        lmp(f"run {half}")
        lmp("reset_timestep 0")
        lmp(f"fix avg all ave/time 10 {half // 10} {half} v_vol_now")
        lmp(f"run {half}")
        _check_finite(lmp, "the NPT liquid run")
        v_liq = float(lmp.lmp.extract_fix("avg", 0, 0))
        if scripts is not None:
            scripts.append(lmp.input_script)
    return a_T, v_liq, v_melt


def _rescale_liquid(c: Lammps, zlo: float, lz_built: float, lz_now: float, lz_liquid_new: float, tag: str) -> float:
    """Stretch (or squeeze) the liquid layer along z to `lz_liquid_new` while the fixed crystal
    in the middle (from zlo + Lz/4 to zlo + 3Lz/4 of the built box) keeps its atoms where they
    are and stays in contact with the liquid on both faces. Returns the new box length."""
    zc1, zc2 = zlo + 0.25 * lz_built, zlo + 0.75 * lz_built
    l_now = lz_now - 0.5 * lz_built
    if not (lz_liquid_new > 0 and l_now > 0):
        raise SimulationError(f"{c.context}: cannot rescale the liquid layer to {lz_liquid_new} Å")
    f = lz_liquid_new / l_now
    lz_new = 0.5 * lz_built + lz_liquid_new
    below = f"(z<{zc1:.6f})"
    c(f"variable u_{tag} atom z-{zc2:.6f}+{lz_now:.6f}*{below}")
    c(f"variable dz_{tag} atom {f - 1:.8f}*(v_u_{tag}-{l_now:.6f}*{below})")
    if f >= 1:   # grow the box first, so no displaced atom leaves it
        c(f"change_box all z final {zlo:.6f} {zlo + lz_new:.6f} units box")
        c(f"displace_atoms liquid move 0 0 v_dz_{tag} units box")
    else:
        c(f"displace_atoms liquid move 0 0 v_dz_{tag} units box")
        c(f"change_box all z final {zlo:.6f} {zlo + lz_new:.6f} units box")
    return lz_new


def _per_atom(lmp: Lammps, ids_order: np.ndarray, name: str, array: bool = False):
    from lammps import LMP_STYLE_ATOM, LMP_TYPE_ARRAY, LMP_TYPE_VECTOR
    out = lmp.lmp.numpy.extract_compute(name, LMP_STYLE_ATOM, LMP_TYPE_ARRAY if array else LMP_TYPE_VECTOR)
    if out is None:
        raise SimulationError(f"{lmp.context}: compute {name} returned nothing")
    out = np.array(out, copy=True)[: ids_order.size]
    return out[ids_order]


def run_condition(material_name: str, material: dict, md: dict, temperature_K: int, seed: int) -> tuple[dict, dict]:
    """Simulate one condition; return (run record, snapshot arrays)."""
    md = {**MD_DEFAULTS, **{k: v for k, v in md.items() if v is not None}}
    for key in ("cells", "growth_steps", "melt_steps", "equilibrate_steps", "sample_every"):
        if key in material:
            md[key] = material[key]
    started = time.time()
    T = float(temperature_K)
    lattice = material["lattice"]
    info = LATTICES[lattice]
    ts_fs = float(material.get("timestep_fs", 2.0))
    potential = resolve_potential(material["potential"])
    Tm_ref = float(material["reference_melting_point_K"])
    t_melt = md["melt_temperature_factor"] * Tm_ref
    seed = int(seed) % 900_000_000 + 1
    context = f"{material_name} at {temperature_K} K (potential {potential})"

    density_scripts: list[str] = []
    try:
        a_T, v_liquid, v_melt = measure_densities(material, T, seed, md["expansion_steps"], t_melt, density_scripts)
    except SimulationError as exc:   # name the condition and the potential, keep LAMMPS's own message
        raise SimulationError(f"{context}: {exc}") from None
    if not (0.9 * material["lattice_constant_A"] < a_T < 1.1 * material["lattice_constant_A"]):
        raise SimulationError(f"{context}: NPT crystal lattice constant {a_T:.3f} Å is implausible "
                              f"(config {material['lattice_constant_A']} Å); the crystal melted or blew up")
    nx, ny, nz = (int(c) for c in md["cells"])
    n_density = info.atoms_per_cell / a_T ** 3          # atoms / Å^3 in the crystal
    tdamp = md["thermostat_damp_ps"]
    pdamp = md["barostat_damp_ps"]

    lmp = Lammps(_suffix(material["pair_style"]), context=context)
    try:
        c = lmp
        c.comment(f"msgnn slab: {material_name} T={temperature_K} K orientation {md['orientation']}; "
                  f"a(T)={a_T:.5f} A from an NPT crystal run")
        # 1) melt the outer half with the crystal held fixed, 2) bring the liquid to T
        build_two_phase(c, material, md, a_T, v_liquid, v_melt, T, seed)
        # 3) growth at T: whole system, barostat along z only, Langevin thermostat on all atoms
        c.comment("growth at T: barostat along z only, lateral box fixed; Langevin on all atoms")
        c(f"velocity solid create {T:.2f} {seed + 3} mom yes rot no dist gaussian")
        c(f"fix lang all langevin {T:.2f} {T:.2f} {tdamp} {seed + 4} zero yes")
        c(f"fix integ all nph z 0.0 0.0 {pdamp}")
        c("run 0")

        n_atoms = int(lmp.lmp.get_natoms())
        boxlo, boxhi, *_ = lmp.lmp.extract_box()
        Lx, Ly = boxhi[0] - boxlo[0], boxhi[1] - boxlo[1]
        area = Lx * Ly

        def sample(full: bool):
            boxlo, boxhi, *_ = lmp.lmp.extract_box()
            nlocal = int(lmp.lmp.extract_global("nlocal"))
            ids = np.array(lmp.lmp.numpy.extract_atom("id"), copy=True)[:nlocal]
            order = np.argsort(ids)       # LAMMPS sorts atoms in memory: re-order by id every time
            x = np.array(lmp.lmp.numpy.extract_atom("x"), copy=True)[:nlocal][order]
            if not np.all(np.isfinite(x)):
                raise SimulationError(f"{context}: non-finite atom positions (the run blew up)")
            bonds = _per_atom(lmp, order, "bonds")
            solid = bonds >= info.min_bonds
            out = {"x": x, "solid": solid, "boxlo": np.array(boxlo), "boxhi": np.array(boxhi),
                   "ke": _per_atom(lmp, order, "ke")}
            if full:
                out["pe"] = _per_atom(lmp, order, "pe")
                out["coord"] = _per_atom(lmp, order, "coord")
                out["q6"] = _per_atom(lmp, order, "q6", array=True)[:, 0]
                out["cna"] = _per_atom(lmp, order, "cna") if lattice in ("fcc", "bcc") else None
            return out

        every = int(md["sample_every"])
        n_samples = max(int(md["growth_steps"]) // every, 3)
        snap_at = set(np.unique(np.linspace(0, n_samples, int(md["snapshots"]) + 1)[1:].round().astype(int)))
        if len(snap_at) < int(md["snapshots"]):
            snap_at = set(range(n_samples - int(md["snapshots"]) + 1, n_samples + 1))
        times, n_solid, t_interface, t_bulk, box_lz, temps = [], [], [], [], [], []
        pes, presses = [], []
        snaps = []
        s0 = sample(False)
        times.append(0.0); n_solid.append(int(s0["solid"].sum()))
        for k in range(1, n_samples + 1):
            c(f"run {every} pre no post no")
            full = k in snap_at
            if full:
                c("run 0 post no")      # per-atom energies are tallied on this step
            pe = _check_finite(c, f"growth (step {k * every})")
            s = sample(full)
            ns = int(s["solid"].sum())
            times.append(k * every * ts_fs / 1000.0); n_solid.append(ns)
            box_lz.append(float(s["boxhi"][2] - s["boxlo"][2]))
            temps.append(float(lmp.lmp.get_thermo("temp")))
            pes.append(float(pe))
            presses.append(float(lmp.lmp.get_thermo("press")))
            Lz = s["boxhi"][2] - s["boxlo"][2]
            zi = fit.interface_positions(s["x"][:, 2], s["solid"], Lz, s["boxlo"][2], n_density, area)
            d = np.min(np.abs((s["x"][:, 2, None] - zi[None, :] + 0.5 * Lz) % Lz - 0.5 * Lz), axis=1)
            near = d < md["interface_probe_A"]
            if near.any() and 0 < ns < n_atoms:
                t_interface.append(2 * s["ke"][near].mean() / (3 * K_B_EV))
                t_bulk.append(2 * s["ke"][~near].mean() / (3 * K_B_EV) if (~near).any() else np.nan)
            if full:
                s["z_int"] = zi; s["time"] = times[-1]; s["pe_total"] = pe
                snaps.append(s)
        wall = time.time() - started
        script = lmp.input_script
        version = lmp.version()
        lammps_packages = list(lmp.lmp.installed_packages)
    finally:
        lmp.close()

    times = np.array(times); n_solid = np.array(n_solid)
    vfit = fit.fit_interface_velocity(times, n_solid, area, n_density, transient_ps=md["transient_ps"],
                                      n_total=n_atoms, box_lz_A=float(np.mean(box_lz)),
                                      min_phase_thickness_A=md["min_phase_thickness_A"])
    # latent heat: mean pe of liquid minus solid atoms over the snapshots
    pe_s = np.concatenate([s["pe"][s["solid"]] for s in snaps])
    pe_l = np.concatenate([s["pe"][~s["solid"]] for s in snaps])
    latent = float(pe_l.mean() - pe_s.mean()) if pe_s.size and pe_l.size else float("nan")
    structure = np.stack([structure_types(lattice, s["solid"], s["cna"]) for s in snaps])
    snapshots = {
        "positions_A": np.stack([s["x"] for s in snaps]).astype(np.float64),
        "cell_A": np.stack([np.diag(s["boxhi"] - s["boxlo"]) for s in snaps]),
        "origin_A": np.stack([s["boxlo"] for s in snaps]),
        "time_ps": np.array([s["time"] for s in snaps]),
        "structure_type": structure.astype(np.int64),
        "solid": np.stack([s["solid"] for s in snaps]).astype(bool),
        "pe_eV": np.stack([s["pe"] for s in snaps]),
        "coordination": np.stack([s["coord"] for s in snaps]).astype(np.int64),
        "q6": np.stack([s["q6"] for s in snaps]),
        "element": np.array(material["element"]),
        "interface_z_A": np.stack([s["z_int"] for s in snaps]),
        "lattice": np.array(lattice),
        "synthetic": np.array(False),
    }
    t_int = float(np.nanmean(t_interface)) if t_interface else float("nan")
    record = {
        "material": material_name,
        "element": material["element"],
        "temperature_K": int(temperature_K),
        "orientation": md["orientation"],
        **{k: vfit[k] for k in ("velocity_m_per_s", "stderr_m_per_s")},
        "velocity_fit": {k: v for k, v in vfit.items() if k not in ("velocity_m_per_s", "stderr_m_per_s")},
        "latent_heat_eV_per_atom": latent,
        "atomic_volume_m3": 1.0 / n_density * 1e-30,
        "lattice_constant_A": a_T,
        "liquid_volume_per_atom_A3": v_liquid,
        "melt_liquid_volume_per_atom_A3": v_melt,
        "interface_area_m2": area * 1e-20,
        "n_atoms": n_atoms,
        "cells": [nx, ny, nz],
        "timestep_fs": ts_fs,
        "lammps_version": version,
        "lammps_packages": lammps_packages,
        "python_packages": provenance.package_versions(),
        "potential": material["potential"],
        "potential_path": str(potential),
        "potential_sha256": provenance.sha256(potential),
        "seed": seed,
        "input_script": script,
        "density_input_script": density_scripts[0] if density_scripts else None,
        "wall_time_s": wall,
        "solid_fraction": [float(n_solid[0] / n_atoms), float(n_solid[-1] / n_atoms)],
        "solid_count_series": {"time_ps": times.tolist(), "n_solid": n_solid.tolist(),
                               "box_lz_A": [None] + box_lz, "temperature_K": [None] + temps},
        "thermo": {"time_ps": times.tolist()[1:], "temp_K": temps, "pe_eV": pes, "press_bar": presses,
                   "lz_A": box_lz},  # the growth run's thermo log, one row per sample
        "interface_temperature_K": t_int,
        "interface_heating_K": (t_int - T) if math.isfinite(t_int) else None,
        "bulk_temperature_K": float(np.nanmean(t_bulk)) if t_bulk else None,
        "thermostat": f"langevin damp {tdamp} ps on all atoms; nph z-only barostat damp {pdamp} ps",
        "synthetic": False,
        "md_settings": {k: md[k] for k in MD_DEFAULTS},
    }
    return record, snapshots


def write_run(record: dict, snapshots: dict, run_json: str | Path, snapshots_npz: str | Path,
              extra_provenance: dict | None = None) -> None:
    """Write snapshots.npz then run.json, each atomically."""
    if extra_provenance:
        record = {**record, "provenance": extra_provenance}
    with atomic_path(snapshots_npz) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **snapshots)
    write_json(run_json, record)


def simulate(material_name: str, material: dict, md: dict, temperature_K: int, seed: int,
             run_json: str | Path, snapshots_npz: str | Path) -> dict:
    """Run one condition and write run.json + snapshots.npz (nothing is written if it fails)."""
    record, snapshots = run_condition(material_name, material, md, temperature_K, seed)
    write_run(record, snapshots, run_json, snapshots_npz)
    log.info("%s T=%s K: v = %.3g ± %.2g m/s, solid fraction %.2f -> %.2f, interface T %.1f K, %.1f s",
             material_name, temperature_K, record["velocity_m_per_s"], record["stderr_m_per_s"],
             *record["solid_fraction"], record["interface_temperature_K"], record["wall_time_s"])
    return record


def bulk_solid_fraction(material: dict, temperature_K: float, *, liquid: bool = False, cells: int = 3,
                        steps: int = 500, seed: int = 1, orientation: str = "100") -> dict:
    """Classify a small periodic bulk sample with the slab's own computes.

    A perfect crystal (steps = 0), a crystal thermalised at T, or (liquid=True) the same box
    disordered, melted at 1.6 Tm and brought to T. Returns solid fraction, mean coordination and
    mean q6 — the check that the solid/liquid classification works for a lattice.
    """
    from lammps import LMP_STYLE_ATOM, LMP_TYPE_ARRAY, LMP_TYPE_VECTOR
    potential = resolve_potential(material["potential"])
    a = float(material["lattice_constant_A"])
    info = LATTICES[material["lattice"]]
    T = float(temperature_K)
    with Lammps(_suffix(material["pair_style"]), context=f"{material['element']} bulk at {T:g} K") as c:
        c("units metal"); c("atom_style atomic"); c("boundary p p p")
        c(lattice_command(material["lattice"], a, orientation))
        c(f"region box block 0 {cells} 0 {cells} 0 {cells}")
        c("create_box 1 box"); c("create_atoms 1 box")
        _setup_potential(c, material, potential)
        c(f"timestep {material.get('timestep_fs', 2.0) / 1000:.6f}"); c("thermo 0")
        for cmd in classification_commands(material["lattice"], a):
            c(cmd)
        if liquid:
            t_melt = 1.6 * float(material["reference_melting_point_K"])
            c(f"displace_atoms all random {0.1 * a:.4f} {0.1 * a:.4f} {0.1 * a:.4f} {seed} units box")
            c(f"velocity all create {t_melt} {seed} mom yes rot yes dist gaussian")
            c(f"fix integ all npt temp {t_melt} {t_melt} 0.1 iso 0 0 1.0")   # at crystal volume it would not melt
            c(f"run {max(steps, 200)}")
            c("unfix integ")
        if steps > 0 or liquid:
            c(f"velocity all create {T} {seed + 2} mom yes rot yes dist gaussian")
            c(f"fix lang all langevin {T} {T} 0.1 {seed + 3}")
            c("fix integ all nph iso 0 0 1.0")
            c(f"run {max(steps, 100)}")
        c("run 0")
        n = int(c.lmp.get_natoms())
        bonds = np.array(c.lmp.numpy.extract_compute("bonds", LMP_STYLE_ATOM, LMP_TYPE_VECTOR))[:n]
        coord = np.array(c.lmp.numpy.extract_compute("coord", LMP_STYLE_ATOM, LMP_TYPE_VECTOR))[:n]
        q6 = np.array(c.lmp.numpy.extract_compute("q6", LMP_STYLE_ATOM, LMP_TYPE_ARRAY))[:n, 0]
    return {"solid_fraction": float(np.mean(bonds >= info.min_bonds)), "mean_coordination": float(coord.mean()),
            "mean_q6": float(q6.mean()), "n_atoms": n}


def build_two_phase(c: Lammps, material: dict, md: dict, a_T: float, v_liquid: float | None,
                    v_melt: float | None, temperature_K: float, seed: int) -> dict:
    """Set up, in the open LAMMPS instance `c`, the same crystal–liquid slab as `run_condition`
    (crystal middle half at lattice constant `a_T`, outer half melted at the melt temperature with
    the crystal held fixed, brought to the liquid density `v_liquid` and to `temperature_K`), and
    stop there: no fix is left defined, the crystal atoms have no velocities yet. Defines the
    groups `solid`/`liquid` and the classification computes (`bonds` etc.). Returns the geometry
    (n_atoms, area_A2, n_density_per_A3, box z origin and length)."""
    md = {**MD_DEFAULTS, **{k: v for k, v in md.items() if v is not None}}
    lattice = material["lattice"]
    info = LATTICES[lattice]
    potential = resolve_potential(material["potential"])
    T = float(temperature_K)
    t_melt = md["melt_temperature_factor"] * float(material["reference_melting_point_K"])
    nx, ny, nz = (int(v) for v in md["cells"])
    c("units metal"); c("atom_style atomic"); c("boundary p p p"); c("atom_modify map array")
    c(lattice_command(lattice, a_T, md["orientation"]))
    c(f"region box block 0 {nx} 0 {ny} 0 {nz}")
    c("create_box 1 box"); c("create_atoms 1 box")
    _setup_potential(c, material, potential)
    c(f"timestep {float(material.get('timestep_fs', 2.0)) / 1000:.6f}")
    c("thermo 0"); c("thermo_modify lost error norm no")
    c(f"region xtal block INF INF INF INF {nz / 4:.6f} {3 * nz / 4:.6f}")
    c("group solid region xtal"); c("group liquid subtract all solid")
    for cmd in classification_commands(lattice, a_T):
        c(cmd)
    c.comment("melt the outer half; the crystal half is held fixed")
    c(f"displace_atoms liquid random {0.1 * a_T:.4f} {0.1 * a_T:.4f} {0.1 * a_T:.4f} {seed} units box")
    boxlo0, boxhi0, *_ = c.lmp.extract_box()
    zlo, lz_built = boxlo0[2], boxhi0[2] - boxlo0[2]
    lz_now = lz_built
    n_liquid = int(c.lmp.get_natoms()) - int(round(info.atoms_per_cell * nx * ny * nz / 2))
    area = (boxhi0[0] - boxlo0[0]) * (boxhi0[1] - boxlo0[1])
    if v_melt is not None:
        lz_now = _rescale_liquid(c, zlo, lz_built, lz_now, n_liquid * v_melt / area, "melt")
    c(f"velocity liquid create {t_melt:.2f} {seed} mom yes rot no dist gaussian")
    c(f"fix lang liquid langevin {t_melt:.2f} {t_melt:.2f} 0.1 {seed + 1}")
    c("fix integ liquid nve/limit 0.1")
    c(f"run {md['melt_steps']}")
    _check_finite(c, "melting")
    if v_liquid is not None:
        lz_now = _rescale_liquid(c, zlo, lz_built, lz_now, n_liquid * v_liquid / area, "cool")
    c.comment("bring the liquid to T; crystal still fixed")
    c("unfix lang")
    c(f"fix lang liquid langevin {T:.2f} {T:.2f} 0.1 {seed + 2}")
    c(f"run {md['equilibrate_steps']}")
    _check_finite(c, "equilibration")
    c("unfix lang"); c("unfix integ")
    return {"n_atoms": int(c.lmp.get_natoms()), "area_A2": float(area),
            "n_density_per_A3": info.atoms_per_cell / a_T ** 3, "zlo_A": float(zlo), "lz_A": float(lz_now),
            "cells": [nx, ny, nz]}
