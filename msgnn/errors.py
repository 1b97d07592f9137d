"""Typed errors: each names the file (or key) and what was expected."""


class MsgnnError(Exception):
    """Base class for every error msgnn raises on bad input."""


class ConfigError(MsgnnError):
    """The configuration is invalid; the message names the key."""


class InputFileError(MsgnnError):
    """An input file is unreadable or malformed; the message names the file and the problem."""

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class SimulationError(MsgnnError):
    """A simulation failed (e.g. an MD run blew up); the message quotes the engine's error."""
