"""The conformance harness: certifies every registered export on a tiny-model zoo.

``plugin`` holds the pytest options, hooks and fixtures; the machinery lives beside it
(``cases``, ``strategies``, ``checks``, ``certify``, ``zoo``).
"""
