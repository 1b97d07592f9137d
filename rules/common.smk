# Helpers shared by every rule file: condition lists and path patterns. No science here.
from msgnn.config import conditions, growth_conditions

CONDITIONS = conditions(config)          # every (material, T): MD runs
GROWTH = growth_conditions(config)       # T below the reference Tm: micrographs, reactor, dataset
MATERIALS = list(config["materials"])

wildcard_constraints:
    material="[A-Za-z0-9_-]+",
    temperature=r"\d+",
    model="[a-z_]+",


def expand_conditions(pattern, conds):
    return [pattern.format(material=m, temperature=t) for m, t in conds]


def material_temperatures(material):
    return [t for m, t in CONDITIONS if m == material]


def material_config(wildcards):
    return config["materials"][wildcards.material]
