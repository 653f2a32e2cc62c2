"""The one exception type the runtime raises for bad input, files or models."""


class FerError(Exception):
    """A problem the user can fix: a bad file, a missing path, a mismatched model.

    Its message is one line meant to be shown as is (the CLIs print it and exit non-zero).
    """
