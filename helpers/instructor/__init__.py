"""Instructor tooling: release, reference outputs, demo class, grading. Reads ``source/``; never shipped to students."""

import sys

# jsonschema, which nbformat and nbgrader import, registers an "iri" format checker by compiling the
# rfc3987-syntax grammar at import: about 2 s of every grading process's start on a quiet machine.
# Nothing the grader runs checks that format (nbformat validates without format checkers), so the
# instructor's processes go without it: jsonschema leaves the checker out when the module cannot load.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)
