"""Shared helpers for the convolutional-networks course bundle.

Data loading and generation, student self-checks, gradient checking, plotting,
the grading-mode switch and the instructor tooling. Never an answer.

Importing ``helpers`` keeps TensorFlow's start-up log lines out of notebook outputs
(``helpers.quiet_tensorflow``): notebooks import it before TensorFlow.
"""

from helpers import quiet_tensorflow as _quiet_tensorflow

_quiet_tensorflow.install()

__version__ = "0.1.0"
