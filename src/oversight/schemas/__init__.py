"""The records: the typed hand-off between every stage, and what the store keeps.

- ``refine``: Task -> Draft -> Critique -> Refinement (the refine loop);
- ``mine``: FailureNote -> Pattern (grouped into Themes), MiningRun;
- ``audit``: Judgment (pairwise, pointwise) and the typed results audits return;
- ``intervene``: Intervention (six kinds of payload) and its Validation;
- ``review``: User, ReviewLease, CalibrationItem and CalibrationAnswer (the review page);
- ``experiment``: Experiment (declared conditions, sample, seed, measures), PlantedError, ExperimentItem;
- ``gold``: GoldItem, GoldCopy, GoldAnswer, TrainerStanding, Assessment (judgment quality);
- ``profile``: TrainerProfile and its figures (proportions with intervals, means, the style fit).

All share one ``Record`` base (unknown fields are errors). Every stage imports its
records from here; this package imports nothing of oversight but errors-free helpers.
"""

from oversight.schemas._base import Record, content_hash, new_id, text_hash, utcnow
from oversight.schemas.audit import *  # noqa: F403
from oversight.schemas.audit import __all__ as _audit_all
from oversight.schemas.experiment import *  # noqa: F403
from oversight.schemas.experiment import __all__ as _experiment_all
from oversight.schemas.gold import *  # noqa: F403
from oversight.schemas.gold import __all__ as _gold_all
from oversight.schemas.intervene import *  # noqa: F403
from oversight.schemas.intervene import __all__ as _intervene_all
from oversight.schemas.mine import *  # noqa: F403
from oversight.schemas.mine import __all__ as _mine_all
from oversight.schemas.profile import *  # noqa: F403
from oversight.schemas.profile import __all__ as _profile_all
from oversight.schemas.refine import *  # noqa: F403
from oversight.schemas.refine import __all__ as _refine_all
from oversight.schemas.review import *  # noqa: F403
from oversight.schemas.review import __all__ as _review_all

__all__ = ["Record", "content_hash", "new_id", "text_hash", "utcnow", *_refine_all, *_mine_all, *_audit_all,
           *_intervene_all, *_review_all, *_experiment_all, *_gold_all, *_profile_all]
