"""Instructor tooling: release, reference outputs, demo class, grading. Reads ``source/``; never shipped to students."""
