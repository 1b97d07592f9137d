"""Typed settings: one frozen dataclass per stage, built once from the schema-validated config.

Defaults have one home, the config schema (msgnn/schemas/config.schema.yaml), which fills them in
when the config is loaded (msgnn.workflow.config.validate). A settings class therefore declares its
fields without defaults and is built from a complete, validated section::

    graphs = GraphSettings.from_dict(config["graphs"])
    rule params: graphs.to_dict()      # a changed setting reruns exactly the jobs that use it
    script:      GraphSettings.from_dict(snakemake.params.graphs)

`from_dict` refuses unknown and missing keys, so a key added to the schema but not to the class
(or the reverse) fails at once (tests/test_settings.py builds every class from the defaults).
`schema_defaults("graphs")` gives the schema's defaults of a section: where a direct caller, a
test or a benchmark, starts from.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import ClassVar

from msgnn.errors import ConfigError


class Settings:
    """Mixin for frozen dataclasses of settings; nested Settings fields are built recursively.

    A field without a default is required. A field may default to None only where the schema
    has no default either (an optional key such as microscopy.pixel_size_m). `SECTION` names the
    config section a class is built from, for `defaults()` and `from_section()`."""

    SECTION: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_dict(cls, d: dict, source: str | None = None):
        source = source or ".".join(cls.SECTION) or cls.__name__
        if not isinstance(d, dict):
            raise ConfigError(f"{source}: expected a mapping, got {d!r}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        required = {n for n, f in fields.items() if f.default is dataclasses.MISSING}
        unknown, missing = sorted(set(d) - set(fields)), sorted(required - set(d))
        if unknown or missing:
            raise ConfigError(f"{source}: " + "; ".join(
                filter(None, [unknown and f"unknown key(s) {unknown}", missing and f"missing key(s) {missing}"]))
                + f" (expected {sorted(fields)})")
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for name, value in d.items():
            kind = hints[name]
            if isinstance(kind, type) and issubclass(kind, Settings):
                value = kind.from_dict(value, f"{source}.{name}")
            kwargs[name] = value
        return cls(**kwargs)

    @classmethod
    def from_section(cls, section: dict, source: str | None = None):
        """The class's own keys of a config section (a rule that needs only some of them)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls.from_dict({k: v for k, v in section.items() if k in names}, source)

    @classmethod
    def defaults(cls, **changes):
        """The schema's defaults for this class with `changes` applied (tests, benchmarks); a dict
        given for a nested settings field changes only the keys it names."""
        d = schema_defaults(*cls.SECTION)
        for key, value in changes.items():
            if isinstance(value, Settings):
                value = value.to_dict()
            d[key] = {**d[key], **value} if isinstance(value, dict) and isinstance(d.get(key), dict) else value
        return cls.from_section(d)

    def to_dict(self) -> dict:
        """Plain dict (nested settings as dicts): rule params, JSON records."""
        return dataclasses.asdict(self)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def schema_defaults(*path: str) -> dict:
    """The schema's defaults of a config section, e.g. schema_defaults("md", "melting")."""
    from msgnn.workflow.config import schema, fill_defaults

    sub = schema()
    for key in path:
        sub = sub["properties"][key]
    return fill_defaults({}, sub)
