"""Planting known errors in drafts: ``oversight.refine.plant``, re-exported for the experiments.

The planting sits with the refine stages, below both its users: the experiments and the gold
items of the review service (which the experiments import).
"""

from oversight.refine.plant import *  # noqa: F403
from oversight.refine.plant import __all__ as __all__
