"""nbgrader reads the configuration of the folder it runs in: here it is the course's own."""

import os

load_subconfig(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "nbgrader_config.py"))  # noqa: F821
