"""The library's single user-facing exception type."""


class PygSipError(ValueError):
    r"""Raised for invalid user input (bad file, id out of range, empty
    sequence, NaN, ...). The message names the offending index, value, file or
    line, and is raised before any work is done."""
