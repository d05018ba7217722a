"""The check catalog: one small function per check, registered by its ID.

Adding a check is one function with `@check("SEG-NN", title)` and a docstring
in one of these modules; the control files then map requirements to it.
"""

from compliance.checks import change, enforcement, exposure, hygiene, isolation, register, zones
from compliance.checks.base import REGISTRY, CheckSpec, Context, Facts, Finding, Verdict

MODULES = (isolation, exposure, register, zones, hygiene, enforcement, change)
CHECKS: dict[str, CheckSpec] = dict(sorted(REGISTRY.items()))

__all__ = ["CHECKS", "MODULES", "CheckSpec", "Context", "Facts", "Finding", "Verdict"]
