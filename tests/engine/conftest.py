"""Suite-wide settings. Hypothesis profiles: `ci` (the default, a few hundred examples per
property, fast enough for every commit) and `hunt` (thousands, for looking for bugs on purpose):
`HYPOTHESIS_PROFILE=hunt pytest tests/engine/test_properties.py`."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", max_examples=250)
settings.register_profile("hunt", max_examples=3000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
