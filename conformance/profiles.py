"""Hypothesis profiles of the harness, registered wherever certification runs.

``ci`` (the default) is derandomized: the same draws on every run and every machine.
``thorough`` draws many more shapes, seeded by ``--conformance-seed``.
"""

from hypothesis import settings

DEFAULT_PROFILE = "ci"
PROFILES = ("ci", "thorough")

settings.register_profile("ci", max_examples=8, derandomize=True, deadline=None, database=None, print_blob=False)
settings.register_profile("thorough", max_examples=60, deadline=None, database=None)
