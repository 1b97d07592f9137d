"""Column names carry their unit (``temperature_K``, ``size_um``, ``flow_L_per_min``); this module
parses them and converts each quantity to its canonical SI column with pint.

A column name is ``<quantity>_<unit>``. The unit part is a list of ``_``-separated tokens, each
a pint unit symbol with an optional integer power (``m3`` = m³); the token ``per`` moves every
token after it to the denominator. A few symbols that pint reads differently are aliased
(``um`` → micrometre, ``C`` → degree Celsius, ``L`` → litre, ``h`` → hour).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

# quantity -> (canonical column, canonical pint unit, pint dimensionality); longest names first
QUANTITIES: dict[str, tuple[str, str, str]] = {
    "population_density": ("population_density_per_m4", "1/m**4", "1/[length]**4"),
    "residence_time": ("residence_time_s", "s", "[time]"),
    "temperature": ("temperature_K", "K", "[temperature]"),
    "timestamp": ("timestamp_s", "s", "[time]"),
    "flow": ("flow_m3_per_s", "m**3/s", "[length]**3/[time]"),
    "size": ("size_m", "m", "[length]"),
}
DIMENSIONLESS = {"supersaturation": "supersaturation"}
REQUIRED = ("timestamp", "temperature", "residence_time", "size", "population_density")

_ALIASES = {"um": "micrometer", "µm": "micrometer", "C": "degC", "degC": "degC", "F": "degF",
            "L": "liter", "l": "liter", "mL": "milliliter", "uL": "microliter", "h": "hour",
            "hr": "hour", "min": "minute", "s": "second", "ms": "millisecond", "d": "day"}
_TOKEN = re.compile(r"^([A-Za-zµ]+?)(\d*)$")


@functools.lru_cache(maxsize=1)
def registry():
    import pint
    return pint.UnitRegistry()


@dataclass(frozen=True)
class ColumnUnit:
    column: str          # the column name as found in the file
    quantity: str        # e.g. "temperature"
    canonical: str       # canonical column name, e.g. "temperature_K"
    unit: str            # pint unit expression parsed from the name ("" when dimensionless)


class UnitParseError(ValueError):
    pass


def unit_expression(suffix: str) -> str:
    """``"m3_per_s"`` → ``"meter ** 3 / second"`` style pint expression (raises UnitParseError)."""
    if not suffix:
        raise UnitParseError("no unit after the quantity name")
    num, den, target = [], [], None
    target = num
    for tok in suffix.split("_"):
        if tok == "per":  # "per_um_per_mL" = /(um mL)
            target = den
            continue
        m = _TOKEN.match(tok)
        if not m:
            raise UnitParseError(f"cannot read unit token {tok!r}")
        sym, power = m.group(1), m.group(2)
        sym = _ALIASES.get(sym, sym)
        target.append(f"{sym}**{power}" if power else sym)
    if suffix.split("_")[-1] == "per":
        raise UnitParseError("nothing after 'per'")
    numerator = "*".join(num) if num else "1"
    return numerator + ("/(" + "*".join(den) + ")" if den else "")


def parse_column(name: str) -> ColumnUnit | None:
    """The quantity and unit a column name declares; None for a column msgnn does not use.

    Raises UnitParseError when the name starts with a known quantity but its unit is unreadable
    or has the wrong dimension (``temperature_m``)."""
    if name in DIMENSIONLESS:
        return ColumnUnit(name, name, DIMENSIONLESS[name], "")
    for quantity, (canonical, _, dim) in QUANTITIES.items():
        if name == quantity or name.startswith(quantity + "_"):
            suffix = name[len(quantity) + 1:]
            expr = unit_expression(suffix)
            ureg = registry()
            try:
                unit = ureg.parse_units(expr)
            except Exception as exc:  # pint raises several types for unknown symbols
                raise UnitParseError(f"unknown unit {suffix!r} ({exc})") from None
            if unit.dimensionality != ureg.get_dimensionality(dim):
                raise UnitParseError(f"unit {suffix!r} is not a {quantity.replace('_', ' ')} "
                                     f"(expected dimension {dim})")
            return ColumnUnit(name, quantity, canonical, expr)
    return None


def to_canonical(values: np.ndarray, col: ColumnUnit) -> np.ndarray:
    """Convert an array in the column's declared unit to the canonical SI unit."""
    if not col.unit:
        return np.asarray(values, dtype=float)
    canonical_unit = QUANTITIES[col.quantity][1]
    ureg = registry()
    q = ureg.Quantity(np.asarray(values, dtype=float), ureg.parse_units(col.unit))
    return np.asarray(q.to(canonical_unit).magnitude, dtype=float)


def factor(unit_from: str, unit_to: str) -> float:
    """Multiplicative conversion factor (for non-offset units)."""
    ureg = registry()
    return float(ureg.Quantity(1.0, unit_from).to(unit_to).magnitude)
