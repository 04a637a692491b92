"""The one exception type the host shows to users as a plain line instead of a traceback."""


class TgahostError(Exception):
    """A problem the user can fix: bad input, a missing plugin, a broken model file.

    The message is one line that says what went wrong, where, and how to fix it.
    """
