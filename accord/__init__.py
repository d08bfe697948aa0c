"""Accord's command line: `accord check` and `accord run` on top of the interview engine.

Kept apart from `engine` so the engine stays a pure library with no terminal I/O.
"""

__version__ = "0.1.0"
