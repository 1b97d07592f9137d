"""Crystal–liquid slab simulations with LAMMPS: build, melt half, quench the liquid, grow at T.

One call, `run_condition`, does one (material, temperature) condition and returns the run record
(run.json content) and the snapshot arrays (snapshots.npz content), in phases: start (resume from
a checkpoint, or measure the bulk densities), build and equilibrate the two-phase slab, grow with
samples and checkpoints, analyse, record. `write_run` writes both atomically. Any LAMMPS error,
lost atom or non-finite energy raises SimulationError.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy.constants import Boltzmann, electron_volt

from msgnn.errors import SimulationError
from msgnn.io import atomic_path, package_versions, sha256, write_json
from msgnn.md import fit
from msgnn.md.lammps_env import Lammps, resolve_potential
from msgnn.md.settings import Material, SlabSettings
from msgnn.md.snapshots import write_snapshots
from msgnn.md.structure import LATTICES, lattice_command, repeat_cells, structure_types
from msgnn.md.system import (classification, check_finite, create_box, lammps_seed, open_lammps, pair_cutoff_A,
                               per_atom, setup_potential)

log = logging.getLogger(__name__)

K_B_EV = Boltzmann / electron_volt   # eV/K
CHECKPOINT_STATE = "state.pkl"   # the Python-side growth state; it names its LAMMPS restart file
CHECKPOINT_FORMAT = 1
SERIES = ("time_ps", "n_solid", "n_solid_lower", "n_solid_upper", "box_lz_A", "temperature_K", "pe_eV", "press_bar")


class Densities(NamedTuple):
    """Bulk NPT results at T (None where not measured): crystal lattice constant (Å), liquid
    volume per atom at T and at the melt temperature (Å^3), mean potential energy per atom of the
    crystal and of the liquid (eV), the input script, and (hcp) the crystal's c/a at T."""
    a_T: float
    v_liquid: float | None = None
    v_melt: float | None = None
    pe_crystal_eV: float | None = None
    pe_liquid_eV: float | None = None
    input_script: str | None = None
    c_over_a: float | None = None


def measure_densities(material: Material, temperature_K: float, seed: int, md: SlabSettings) -> Densities:
    """Short NPT runs (`md.expansion_steps` in all) of a small periodic box: the perfect crystal,
    then the same box melted at `md.melt_temperature_factor` x Tm_ref, then brought back to T.
    With expansion_steps = 0: the config lattice constant only. pe_liquid - pe_crystal is the
    latent heat at T (zero pressure, equal kinetic energies). SimulationError if a(T) is not
    within 10 % of the config's (the crystal melted or blew up). hcp: the crystal box relaxes a and
    c separately (barostat aniso, x and y coupled), which gives c/a at T."""
    a0 = float(material.lattice_constant_A)
    steps = md.expansion_steps
    if steps <= 0:
        return Densities(a0)
    hcp = material.lattice == "hcp"
    n = {"diamond": (3, 3, 3), "fcc": (4, 4, 4), "bcc": (5, 5, 5), "hcp": (5, 3, 3)}[material.lattice]
    T = float(temperature_K)
    t_melt = md.melt_temperature_K(material)
    half = max((steps // 2) // 20 * 20, 20)      # the liquid average uses half // 2: a multiple of 10
    with open_lammps(material, f"{material.element} NPT crystal/liquid at {T:g} K") as lmp:
        create_box(lmp, material, lattice_command(material.lattice, a0, "0001") if hcp
                   else f"lattice {material.lattice} {a0}", n)
        lmp(f"velocity all create {2 * T} {seed} mom yes rot yes dist gaussian")
        lmp(f"fix npt all npt temp {T} {T} 0.1 {'aniso 0 0 1.0 couple xy' if hcp else 'iso 0 0 1.0'}")
        lmp(f"run {max(steps - half, 0)}")
        lmp("variable lx_now equal lx")
        lmp("variable lz_now equal lz")
        lmp("variable vol_now equal vol/atoms")
        lmp("variable pe_now equal pe/atoms")
        lmp("reset_timestep 0")
        lmp(f"fix avg all ave/time 10 {half // 10} {half} v_lx_now v_pe_now{' v_lz_now' if hcp else ''}")
        lmp(f"run {half}")
        check_finite(lmp, "the NPT crystal run")
        a_T = float(lmp.lmp.extract_fix("avg", 0, 1, 0)) / n[0]
        c_over_a = float(lmp.lmp.extract_fix("avg", 0, 1, 2)) / n[2] / a_T if hcp else None
        if not 0.9 * a0 < a_T < 1.1 * a0:
            raise SimulationError(f"{lmp.context}: NPT crystal lattice constant {a_T:.3f} Å is implausible "
                                  f"(config {a0} Å); the crystal melted or blew up")
        pe_crystal = float(lmp.lmp.extract_fix("avg", 0, 1, 1))
        lmp("unfix avg"); lmp("unfix npt")
        lmp(f"displace_atoms all random {0.1 * a0:.4f} {0.1 * a0:.4f} {0.1 * a0:.4f} {seed} units box")
        lmp(f"velocity all create {t_melt:.2f} {seed + 1} mom yes rot yes dist gaussian")
        lmp(f"fix npt all npt temp {t_melt:.2f} {t_melt:.2f} 0.1 iso 0 0 1.0")
        lmp(f"run {half}")
        lmp("reset_timestep 0")
        lmp(f"fix avg all ave/time 10 {half // 20} {half // 2} v_vol_now")
        lmp(f"run {half // 2}")
        check_finite(lmp, "the NPT melt run")
        v_melt = float(lmp.lmp.extract_fix("avg", 0, 0))
        lmp("unfix avg"); lmp("unfix npt")
        lmp(f"fix npt all npt temp {T} {T} 0.1 iso 0 0 1.0")
        lmp(f"run {half}")
        lmp("reset_timestep 0")
        lmp(f"fix avg all ave/time 10 {half // 10} {half} v_vol_now v_pe_now")
        lmp(f"run {half}")
        check_finite(lmp, "the NPT liquid run")
        return Densities(a_T, float(lmp.lmp.extract_fix("avg", 0, 1, 0)), v_melt,
                         pe_crystal, float(lmp.lmp.extract_fix("avg", 0, 1, 1)), lmp.input_script, c_over_a)


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


@dataclass(frozen=True)
class _Plan:
    """What one slab run does, fixed by its inputs."""
    name: str
    material: Material
    md: SlabSettings               # resolved for the material
    temperature_K: int
    seed: int                      # the LAMMPS seed
    potential: Path
    context: str
    n_samples: int
    snapshot_at: frozenset         # the samples that keep a full snapshot
    checkpoint_every: int          # samples

    @classmethod
    def make(cls, name: str, material: Material, md: SlabSettings, temperature_K: int, seed: int) -> _Plan:
        md = md.for_material(material)
        potential = resolve_potential(material.potential)
        every, n_snap = int(md.sample_every), int(md.snapshots)
        n_samples = max(int(md.growth_steps) // every, 3)
        snap_at = set(np.unique(np.linspace(0, n_samples, n_snap + 1)[1:].round().astype(int)))
        if len(snap_at) < n_snap:
            snap_at = set(range(n_samples - n_snap + 1, n_samples + 1))
        ckpt_every = max(1, int(round(float(md.checkpoint_every_ps) * 1000.0 / (every * float(material.timestep_fs)))))
        return cls(name, material, md, temperature_K, lammps_seed(seed), potential,
                   f"{name} at {temperature_K} K (potential {potential})", n_samples, frozenset(snap_at), ckpt_every)

    @property
    def T(self) -> float:
        return float(self.temperature_K)


def _checkpoint_key(plan: _Plan) -> str:
    """sha256 of what determines a run: material (and its potential file's content), md settings
    (all but the checkpoint interval, which does not change the physics), temperature and seed."""
    payload = {"format": CHECKPOINT_FORMAT, "material_name": plan.name,
               "material": {k: v for k, v in plan.material.to_dict().items() if v is not None},   # as in the config
               "potential_sha256": sha256(plan.potential), "temperature_K": int(plan.temperature_K),
               "md": {k: v for k, v in plan.md.to_dict().items() if k != "checkpoint_every_ps"}, "seed": int(plan.seed)}
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


def run_condition(material_name: str, material: Material, md: SlabSettings, temperature_K: int, seed: int, *,
                  checkpoint_dir: str | Path | None = None) -> tuple[dict, dict]:
    """Simulate one condition; return (run record, snapshot arrays). `md` is resolved for the
    material's overrides here.

    Growth is measured from the solid count N_s(t) (both interfaces) and, per interface, from the
    solid counts below and above the slab centre fixed at the first sample (one interface each).

    With `checkpoint_dir`, the growth loop writes every `checkpoint_every_ps` a LAMMPS restart
    file plus the Python-side state (samples, snapshots, densities, input script, loop index,
    keyed by a hash of material, md settings, T and seed), keeping only the latest. A call that
    finds a valid checkpoint of the same run resumes there (`_resume`). A checkpoint of another
    run, or an unreadable one, is ignored with a warning. The checkpoint is left in place;
    `simulate` removes it once outputs exist.
    """
    plan = _Plan.make(material_name, material, md, temperature_K, seed)
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    t0 = time.time()
    state = _start(plan, ckpt_dir)
    started = t0 - state.get("wall_s", 0.0)
    resumed_from = state["series"]["time_ps"][-1] if state["k"] else None   # a checkpoint is past sample 0
    with open_lammps(material, plan.context) as c:
        if resumed_from is None:
            _build(c, plan, state)
        else:
            _resume(c, plan, state, ckpt_dir)
        geometry = _grow(c, plan, state, ckpt_dir, started)
        lammps = {"input_script": c.input_script, "version": c.version(), "packages": list(c.lmp.installed_packages)}
    return _record(plan, state, geometry, lammps, resumed_from), _snapshot_arrays(plan, state["snaps"])


def _start(plan: _Plan, ckpt_dir: Path | None) -> dict:
    """The growth state: from a valid checkpoint of this run, else fresh after the bulk NPT runs."""
    key = None
    if ckpt_dir is not None:
        key = _checkpoint_key(plan)
        state = load_checkpoint(ckpt_dir, key, plan.context)
        if state is not None:
            return state
        if ckpt_dir.is_dir():
            _clear_checkpoint(ckpt_dir)
    try:
        d = measure_densities(plan.material, plan.T, plan.seed, plan.md)
    except SimulationError as exc:   # name the condition and the potential, keep LAMMPS's own message
        raise SimulationError(f"{plan.context}: {exc}") from None
    measured = d.input_script is not None
    return {"key": key, "a_T": d.a_T, "c_over_a": d.c_over_a, "v_liquid": d.v_liquid, "v_melt": d.v_melt,
            "bulk_pe": {"pe_crystal_eV": d.pe_crystal_eV, "pe_liquid_eV": d.pe_liquid_eV} if measured else {},
            "density_scripts": [d.input_script] if measured else [], "k": 0, "checkpoints": 0,
            "series": {name: [] for name in SERIES},
            "t_interface": [], "t_bulk": [], "snaps": [], "centre_fraction": None}


def _build(c: Lammps, plan: _Plan, state: dict) -> None:
    """A fresh run: the two-phase slab, melted and equilibrated, then crystal velocities and the
    growth fixes (Langevin on all atoms, barostat along z only)."""
    T, seed = plan.T, plan.seed
    c.comment(f"msgnn slab: {plan.name} T={plan.temperature_K} K orientation {plan.md.orientation}; "
              f"a(T)={state['a_T']:.5f} A from an NPT crystal run")
    build_two_phase(c, plan.material, plan.md, _densities(state), T, seed)
    c.comment("growth at T: barostat along z only, lateral box fixed; Langevin on all atoms")
    # the crystal starts on its lattice sites: with the thermostat on every atom it is at T within a
    # picosecond; with the thermostat far from the interfaces it starts at 2T (equipartition halves it)
    t_solid = T if plan.md.thermostat == "all" else 2 * T
    c(f"velocity solid create {t_solid:.2f} {seed + 3} mom yes rot no dist gaussian")
    _growth_fixes(c, plan, state, seed + 4)


def _densities(state: dict) -> Densities:
    """The bulk results the slab is built from, as kept in the growth state."""
    return Densities(state["a_T"], state["v_liquid"], state["v_melt"], c_over_a=state.get("c_over_a"))


def _resume(c: Lammps, plan: _Plan, state: dict, ckpt_dir: Path) -> None:
    """Continue from the checkpoint: read_restart, then re-issue what a restart file does not keep:
    potential, thermo settings, the classification computes, and the fixes `lang` (new seed from
    seed and step) and `integ` (nph, whose barostat state the restart file restores)."""
    resumed_from = state["series"]["time_ps"][-1]
    log.info("%s: resumed from t = %.3f ps (checkpoint %s)", plan.context, resumed_from,
             ckpt_dir / state["restart_file"])
    c.script = state["script"] + [f"# ---- interrupted; resumed from the checkpoint at t = {resumed_from:g} ps "
                                  f"(step {state['step']}) in a new LAMMPS instance ----"] + c.script
    c(f'read_restart "{ckpt_dir / state["restart_file"]}"')
    c.comment("re-issue what a restart file does not keep: potential, thermo, computes, fixes")
    setup_potential(c, plan.material)
    c("thermo 0"); c("thermo_modify lost error norm no")
    for cmd in classification(plan.material, state["a_T"]):
        c(cmd)
    _growth_fixes(c, plan, state, lammps_seed(plan.seed * 7919 + int(state["step"])))


def _growth_fixes(c: Lammps, plan: _Plan, state: dict, langevin_seed: int) -> None:
    """The growth run's fixes: Langevin at T and a barostat along z only. md.thermostat "all":
    Langevin on every atom. "far": only on the atoms within md.thermostat_zone_A of the crystal's
    centre plane and of the liquid's (half a box away), a group re-evaluated every 10 steps whose
    planes follow the box's z dilation, so the latent heat released at the interfaces reaches the
    thermostat by conduction; the total momentum is zeroed every 100 steps instead of the random
    forces (a dynamic group has no atoms when the fix is set up)."""
    T, md = plan.T, plan.md
    if md.thermostat == "all":
        c(f"fix lang all langevin {T:.2f} {T:.2f} {md.thermostat_damp_ps} {langevin_seed} zero yes")
        c(f"fix integ all nph z 0.0 0.0 {md.barostat_damp_ps}")
        return
    if state["centre_fraction"] is None:
        c("run 0")
        s0 = _sample(c, plan.material.lattice, False)
        Lz0 = s0["boxhi"][2] - s0["boxlo"][2]
        state["centre_fraction"] = (fit.slab_centre(s0["x"][:, 2], s0["solid"], Lz0, s0["boxlo"][2])
                                    - s0["boxlo"][2]) / Lz0
    c.comment(f"thermostat far from the interfaces: within {md.thermostat_zone_A} A of the crystal's and the "
              f"liquid's centre planes (crystal centre at {state['centre_fraction']:.4f} of the box length)")
    c(f"variable zone_f equal {md.thermostat_zone_A}/lz")
    c(f"variable dz_c atom abs((z-zlo)/lz-{state['centre_fraction']:.6f})")
    c("variable dz_p atom (v_dz_c<0.5)*v_dz_c+(v_dz_c>=0.5)*(1-v_dz_c)")   # periodic distance (box fractions)
    c("variable in_zone atom (v_dz_p<v_zone_f)||(v_dz_p>0.5-v_zone_f)")
    c("group far dynamic all var in_zone every 10")
    c(f"fix lang far langevin {T:.2f} {T:.2f} {md.thermostat_damp_ps} {langevin_seed}")
    c(f"fix integ all nph z 0.0 0.0 {md.barostat_damp_ps}")
    c("fix mom all momentum 100 linear 1 1 1")


def _grow(c: Lammps, plan: _Plan, state: dict, ckpt_dir: Path | None, started: float) -> dict:
    """The growth run from sample state["k"] on: every `sample_every` steps the solid counts, thermo
    and interface temperature, at `plan.snapshot_at` a full snapshot, every `plan.checkpoint_every`
    samples a checkpoint. Returns the slab's geometry (n_atoms, area_A2, n_density_per_A3)."""
    c("run 0")
    geometry = _geometry(c, _densities(state), plan.material.lattice)
    if state["k"] == 0:
        s0 = _sample(c, plan.material.lattice, False)
        Lz0 = s0["boxhi"][2] - s0["boxlo"][2]
        state["centre_fraction"] = (fit.slab_centre(s0["x"][:, 2], s0["solid"], Lz0, s0["boxlo"][2])
                                    - s0["boxlo"][2]) / Lz0
        _append(state["series"], 0.0, int(s0["solid"].sum()), *_per_side(s0, state["centre_fraction"]),
                None, None, None, None)
    every = int(plan.md.sample_every)
    setup_needed = False
    for k in range(state["k"] + 1, plan.n_samples + 1):
        # after write_restart (which re-initialises LAMMPS) the next run must do its setup
        c(f"run {every} post no" if setup_needed else f"run {every} pre no post no")
        setup_needed = False
        full = k in plan.snapshot_at
        if full:
            c("run 0 post no")      # per-atom energies are tallied on this step
        pe = check_finite(c, f"growth (step {k * every})")
        s = _sample(c, plan.material.lattice, full)
        _observe(c, plan, state, geometry, k, s, pe)
        if ckpt_dir is not None and k % plan.checkpoint_every == 0 and k < plan.n_samples:
            state.update(k=k, step=int(c.lmp.extract_global("ntimestep")), wall_s=time.time() - started,
                         checkpoints=state["checkpoints"] + 1)
            _write_checkpoint(c, ckpt_dir, state)
            setup_needed = True
    return geometry


def _geometry(c: Lammps, densities: Densities, lattice: str) -> dict:
    boxlo, boxhi, *_ = c.lmp.extract_box()
    Lx, Ly = boxhi[0] - boxlo[0], boxhi[1] - boxlo[1]
    return {"n_atoms": int(c.lmp.get_natoms()), "area_A2": Lx * Ly,     # n_density: atoms / Å^3 in the crystal
            "n_density_per_A3": 1.0 / LATTICES[lattice].volume_per_atom(densities.a_T, densities.c_over_a)}


def _sample(c: Lammps, lattice: str, full: bool) -> dict:
    """Positions (by atom id), solid flags, box and kinetic energies; with `full` also what a
    snapshot keeps (pe, coordination, q6, CNA)."""
    boxlo, boxhi, *_ = c.lmp.extract_box()
    nlocal = int(c.lmp.extract_global("nlocal"))
    ids = np.array(c.lmp.numpy.extract_atom("id"), copy=True)[:nlocal]
    order = np.argsort(ids)       # LAMMPS sorts atoms in memory: re-order by id every time
    x = np.array(c.lmp.numpy.extract_atom("x"), copy=True)[:nlocal][order]
    if not np.all(np.isfinite(x)):
        raise SimulationError(f"{c.context}: non-finite atom positions (the run blew up)")
    solid = per_atom(c, "bonds", order) >= LATTICES[lattice].min_bonds
    out = {"x": x, "solid": solid, "boxlo": np.array(boxlo), "boxhi": np.array(boxhi), "ke": per_atom(c, "ke", order)}
    if full:
        out["pe"] = per_atom(c, "pe", order)
        out["coord"] = per_atom(c, "coord", order)
        out["q6"] = per_atom(c, "q6", order, column=0)
        out["cna"] = per_atom(c, "cna", order) if lattice in ("fcc", "bcc") else None
    return out


def _per_side(s: dict, centre_fraction: float) -> tuple[int, int]:
    """Solid counts below/above the slab centre, fixed as a fraction of the box length (the z-only
    barostat dilates the box about its centre, which keeps fractions)."""
    zlo, Lz = s["boxlo"][2], s["boxhi"][2] - s["boxlo"][2]
    return fit.solid_per_side(s["x"][:, 2], s["solid"], zlo + centre_fraction * Lz, Lz)


def _append(series: dict, *values) -> None:
    for name, value in zip(SERIES, values, strict=True):
        series[name].append(value)


def _observe(c: Lammps, plan: _Plan, state: dict, geometry: dict, k: int, s: dict, pe: float) -> None:
    """Add growth sample k to the state: the series, the interface and bulk temperatures, and the
    snapshot if `s` is a full sample."""
    ns = int(s["solid"].sum())
    Lz = s["boxhi"][2] - s["boxlo"][2]
    _append(state["series"], k * int(plan.md.sample_every) * float(plan.material.timestep_fs) / 1000.0, ns,
            *_per_side(s, state["centre_fraction"]), float(Lz), float(c.lmp.get_thermo("temp")), float(pe),
            float(c.lmp.get_thermo("press")))
    zi = fit.interface_positions(s["x"][:, 2], s["solid"], Lz, s["boxlo"][2], geometry["n_density_per_A3"],
                                 geometry["area_A2"])
    d = np.min(np.abs((s["x"][:, 2, None] - zi[None, :] + 0.5 * Lz) % Lz - 0.5 * Lz), axis=1)
    near = d < plan.md.interface_probe_A
    if near.any() and 0 < ns < geometry["n_atoms"]:
        state["t_interface"].append(2 * s["ke"][near].mean() / (3 * K_B_EV))
        state["t_bulk"].append(2 * s["ke"][~near].mean() / (3 * K_B_EV) if (~near).any() else np.nan)
    if "pe" in s:
        s["z_int"] = zi; s["time"] = state["series"]["time_ps"][-1]; s["pe_total"] = pe
        state["snaps"].append(s)


def _analyse(plan: _Plan, state: dict, geometry: dict) -> dict:
    """Interface velocity of both interfaces together, then of each over the same fit window, and
    the latent heat at T."""
    ser, md = state["series"], plan.md
    area, n_density = geometry["area_A2"], geometry["n_density_per_A3"]
    times, n_solid = np.array(ser["time_ps"]), np.array(ser["n_solid"])
    vfit = fit.fit_interface_velocity(times, n_solid, area, n_density, transient_ps=md.transient_ps,
                                      n_total=geometry["n_atoms"], box_lz_A=float(np.mean(ser["box_lz_A"][1:])),
                                      min_phase_thickness_A=md.min_phase_thickness_A)
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
    snaps = state["snaps"]
    pe_s = np.concatenate([s["pe"][s["solid"]] for s in snaps])
    pe_l = np.concatenate([s["pe"][~s["solid"]] for s in snaps])
    latent_slab = float(pe_l.mean() - pe_s.mean()) if pe_s.size and pe_l.size else None
    bulk_pe = state.get("bulk_pe") or {}
    latent = (bulk_pe["pe_liquid_eV"] - bulk_pe["pe_crystal_eV"]) if bulk_pe else latent_slab
    return {"vfit": vfit, "sides": sides, "latent": latent, "latent_slab": latent_slab,
            "latent_method": "bulk NPT liquid minus crystal pe/atom at T" if bulk_pe else "slab snapshots"}


def _snapshot_arrays(plan: _Plan, snaps: list[dict]) -> dict:
    """snapshots.npz content, one row per full sample."""
    lattice = plan.material.lattice
    structure = np.stack([structure_types(lattice, s["solid"], s["cna"]) for s in snaps])
    return {
        "positions_A": np.stack([s["x"] for s in snaps]).astype(np.float64),
        "cell_A": np.stack([np.diag(s["boxhi"] - s["boxlo"]) for s in snaps]),
        "origin_A": np.stack([s["boxlo"] for s in snaps]),
        "time_ps": np.array([s["time"] for s in snaps]),
        "structure_type": structure.astype(np.int64),
        "solid": np.stack([s["solid"] for s in snaps]).astype(bool),
        "pe_eV": np.stack([s["pe"] for s in snaps]),
        "coordination": np.stack([s["coord"] for s in snaps]).astype(np.int64),
        "q6": np.stack([s["q6"] for s in snaps]),
        "element": np.array(plan.material.element),
        "interface_z_A": np.stack([s["z_int"] for s in snaps]),
        "lattice": np.array(lattice),
        "synthetic": np.array(False),
    }


def _record(plan: _Plan, state: dict, geometry: dict, lammps: dict, resumed_from: float | None) -> dict:
    """run.json content."""
    md, material, ser = plan.md, plan.material, state["series"]
    fits = _analyse(plan, state, geometry)
    vfit, n_atoms = fits["vfit"], geometry["n_atoms"]
    times, n_solid = ser["time_ps"], ser["n_solid"]
    t_interface, t_bulk = state["t_interface"], state["t_bulk"]
    t_int = float(np.nanmean(t_interface)) if t_interface else None
    t_bulk = [x for x in t_bulk if math.isfinite(x)]
    return {
        "material": plan.name,
        "element": material.element,
        "temperature_K": int(plan.temperature_K),
        "orientation": md.orientation,
        **{k: vfit[k] for k in ("velocity_m_per_s", "stderr_m_per_s")},
        "velocity_fit": {k: v for k, v in vfit.items() if k not in ("velocity_m_per_s", "stderr_m_per_s")},
        "interface_velocities": fits["sides"],
        "latent_heat_eV_per_atom": fits["latent"],
        "latent_heat_method": fits["latent_method"],
        "latent_heat_from_slab_eV_per_atom": fits["latent_slab"],
        "atomic_volume_m3": 1.0 / geometry["n_density_per_A3"] * 1e-30,
        "lattice_constant_A": state["a_T"],
        "c_over_a": state.get("c_over_a"),
        "liquid_volume_per_atom_A3": state["v_liquid"],
        "melt_liquid_volume_per_atom_A3": state["v_melt"],
        "interface_area_m2": geometry["area_A2"] * 1e-20,
        "n_atoms": n_atoms,
        "cells": [int(v) for v in md.cells],
        "repeat_cells": list(repeat_cells(material.lattice, md.orientation, md.cells, state.get("c_over_a"))),
        "timestep_fs": float(material.timestep_fs),
        "lammps_version": lammps["version"],
        "lammps_packages": lammps["packages"],
        "python_packages": package_versions(),
        "potential": material.potential,
        "potential_path": str(plan.potential),
        "potential_sha256": sha256(plan.potential),
        "seed": plan.seed,
        "input_script": lammps["input_script"],
        "density_input_script": state["density_scripts"][0] if state["density_scripts"] else None,
        "resumed_from_ps": resumed_from,
        "checkpoints_written": state["checkpoints"],
        "solid_fraction": [float(n_solid[0] / n_atoms), float(n_solid[-1] / n_atoms)],
        "solid_count_series": {"time_ps": times, "n_solid": n_solid,
                               "n_solid_lower": ser["n_solid_lower"], "n_solid_upper": ser["n_solid_upper"],
                               "slab_centre_fraction_of_lz": state["centre_fraction"],
                               "box_lz_A": ser["box_lz_A"], "temperature_K": ser["temperature_K"]},
        "thermo": {"time_ps": times[1:], "temp_K": ser["temperature_K"][1:], "pe_eV": ser["pe_eV"][1:],
                   "press_bar": ser["press_bar"][1:], "lz_A": ser["box_lz_A"][1:]},  # the growth run's thermo log
        "interface_temperature_K": t_int,
        "interface_heating_K": (t_int - plan.T) if t_int is not None else None,
        "bulk_temperature_K": float(np.nanmean(t_bulk)) if t_bulk else None,
        "thermostat": f"langevin damp {md.thermostat_damp_ps} ps on "
                      + ("all atoms" if md.thermostat == "all" else
                         f"the atoms within {md.thermostat_zone_A} A of the crystal's and the liquid's centre planes")
                      + "; nph z-only barostat damp "
                      f"{md.barostat_damp_ps} ps",
        "synthetic": False,
        "md_settings": md.to_dict(),
    }


def write_run(record: dict, snapshots: dict, run_json: str | Path, snapshots_npz: str | Path,
              extra_provenance: dict | None = None) -> None:
    """Write snapshots.npz then run.json, each atomically."""
    if extra_provenance:
        record = {**record, "provenance": extra_provenance}
    write_snapshots(snapshots_npz, snapshots)
    write_json(run_json, record)


def simulate(material_name: str, material: Material, md: SlabSettings, temperature_K: int, seed: int,
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


def _check_lateral_box(c: Lammps, material: Material) -> None:
    """Warn about a slab narrower than twice the potential's cutoff: an atom feels its own periodic
    image (smoke-scale boxes do; the library and default runs' 4x4 boxes must not)."""
    rc = pair_cutoff_A(material)
    boxlo, boxhi, *_ = c.lmp.extract_box()
    lateral = min(boxhi[0] - boxlo[0], boxhi[1] - boxlo[1])
    if rc is not None and rc > lateral / 2:
        log.warning("%s: the potential's cutoff (%.2f Å, %s) is more than half the slab's lateral box (%.2f Å): "
                    "atoms interact with their own periodic images; give the material more lateral `cells`",
                    c.context, rc, material.potential, lateral)


def build_two_phase(c: Lammps, material: Material, md: SlabSettings, densities: Densities, temperature_K: float,
                    seed: int) -> dict:
    """Set up, in the open LAMMPS instance `c`, the crystal–liquid slab of `run_condition`
    (crystal middle half at the lattice constant `densities.a_T`, outer half melted at the melt
    temperature with the crystal held fixed, brought to the liquid density and to `temperature_K`), and
    stop there: no fix is left defined, the crystal atoms have no velocities yet. Defines the
    groups `solid`/`liquid` and the classification computes (`bonds` etc.). `md` must already
    be resolved for the material. Returns the geometry (n_atoms, area_A2, n_density_per_A3, box
    z origin and length, cells)."""
    lattice = material.lattice
    info = LATTICES[lattice]
    a_T, v_liquid, v_melt = densities.a_T, densities.v_liquid, densities.v_melt
    T = float(temperature_K)
    t_melt = md.melt_temperature_K(material)
    nx, ny, nz = repeat_cells(lattice, md.orientation, md.cells, densities.c_over_a)
    create_box(c, material, lattice_command(lattice, a_T, md.orientation, densities.c_over_a), (nx, ny, nz),
               atom_map=True)
    c("thermo_modify lost error norm no")
    _check_lateral_box(c, material)
    c(f"region xtal block INF INF INF INF {nz / 4:.6f} {3 * nz / 4:.6f}")
    c("group solid region xtal"); c("group liquid subtract all solid")
    for cmd in classification(material, a_T):
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
    v_crystal = info.volume_per_atom(a_T, densities.c_over_a)
    overhang_A3 = (0.5 * int(c.lmp.get_natoms()) - n_liquid) * v_crystal

    def liquid_zone_A(v_per_atom: float) -> float:
        return (n_liquid * v_per_atom + overhang_A3) / area

    if v_melt is not None:
        lz_now = _rescale_liquid(c, zlo, lz_built, lz_now, liquid_zone_A(v_melt), "melt")
    c(f"velocity liquid create {t_melt:.2f} {seed} mom yes rot no dist gaussian")
    c(f"fix lang liquid langevin {t_melt:.2f} {t_melt:.2f} 0.1 {seed + 1}")
    c("fix integ liquid nve/limit 0.1")
    c(f"run {md.melt_steps}")
    check_finite(c, "melting")
    if v_liquid is not None:
        lz_now = _rescale_liquid(c, zlo, lz_built, lz_now, liquid_zone_A(v_liquid), "cool")
    c.comment("bring the liquid to T; crystal still fixed")
    c("unfix lang")
    c(f"fix lang liquid langevin {T:.2f} {T:.2f} 0.1 {seed + 2}")
    c(f"run {md.equilibrate_steps}")
    check_finite(c, "equilibration")
    c("unfix lang"); c("unfix integ")
    return {"n_atoms": int(c.lmp.get_natoms()), "area_A2": float(area),
            "n_density_per_A3": 1.0 / v_crystal, "zlo_A": float(zlo), "lz_A": float(lz_now),
            "cells": [nx, ny, nz]}
