"""Errors a user can fix. The CLI prints their message on one line and exits with code 2."""


class UserError(Exception):
    """Bad input from the user: the message says what, where, and how to fix it."""


class DataError(UserError):
    """A data file that cannot be used (missing, empty, binary, not UTF-8, no usable line)."""


class CheckpointError(UserError):
    """A run directory or checkpoint that cannot be read or does not match the request."""
