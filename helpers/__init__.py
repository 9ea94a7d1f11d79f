"""Shared helpers for the convolutional-networks course bundle.

Data loading and generation, student self-checks, gradient checking, plotting,
the grading-mode switch and the instructor tooling. Never an answer.
"""

__version__ = "0.1.0"
