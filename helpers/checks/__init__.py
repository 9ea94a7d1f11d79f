"""Student self-checks, one module per assignment.

A notebook imports its module as ``check`` and calls e.g. ``check.conv_forward(conv_forward)``:
it prints "All tests passed." or raises :class:`helpers.compare.CheckFailure` with one
precise diagnostic.
"""
