"""Test-only synthetic inputs: a rendered JMAK micrograph, the Avrami law it should follow, and
reactor-log generator settings without faults."""
from __future__ import annotations

import math

import numpy as np

from msgnn.microscopy.pipeline import natural_microstructure
from msgnn.microscopy.simulate import render_micrograph
from msgnn.reactor.settings import Faults

NO_FAULTS = Faults(**{name: 0.0 for name in Faults.__dataclass_fields__})


def synthetic_image(image_px: int, grains_per_image: float, noise: float, blur_px: float,
                    rng: np.random.Generator):
    """A JMAK microstructure in natural units (J_A = G = 1) and its rendered micrograph."""
    m = natural_microstructure(image_px, grains_per_image, rng)
    return m, render_micrograph(m.labels, rng, noise=noise, blur_px=blur_px)


def avrami_fraction(t_s, areal_rate_per_m2_s: float, growth_speed_m_per_s: float):
    """Transformed fraction X(t) = 1 - exp(-(pi/3) J_A G^2 t^3) for 2-D continuous nucleation."""
    t = np.asarray(t_s, dtype=float)
    return 1.0 - np.exp(-(math.pi / 3) * areal_rate_per_m2_s * growth_speed_m_per_s ** 2 * t ** 3)
