"""One exception type for bad input, so callers can report it without a traceback."""


class InputError(ValueError):
    """Bad input (file, image, video, config value): the message names the file or config key."""
