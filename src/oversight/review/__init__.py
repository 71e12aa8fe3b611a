"""The review service, above the pipelines: what trainers do and what is known of their judgment.

- ``service``: the review queue: claim an item under a lease, open it, submit, skip, release,
  reset (the terminal, the review page and scripts all call it; re-exported here, so
  ``from oversight import review; review.claim(...)`` reads as the service it is).
- ``answers_file``: a file of answers recorded all or nothing (``review.read_answers``,
  ``review.apply_answers``).
- ``calibration``: expert items served among the real ones, answers scored against them,
  agreement over time.
- ``accounts``: trainers and leads, tokens shown once and kept only as hashes.
- ``profiles``: each trainer's judgment measured on gold items (catch rate, false alarms,
  deference, style bias, speed), with intervals, and the suggested pause.
"""

from oversight.review.answers_file import apply_answers, read_answers
from oversight.review.service import *  # noqa: F403
from oversight.review.service import __all__ as _service

__all__ = [*_service, "apply_answers", "read_answers"]
