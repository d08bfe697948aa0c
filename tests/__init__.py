"""Makes `tests/conftest.py` load as `tests.conftest`, with the repository root (not `tests/`,
whose `engine/` folder would shadow the engine package) on sys.path."""
