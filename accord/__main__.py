"""`python -m accord` works where the console script is not on PATH (e.g. before install)."""

import sys

from accord.cli import main

sys.exit(main())
