"""The one exception tree of oversight.

    OversightError                  anything oversight raises on purpose
     ├── ConfigError                a bad setting, file or environment variable
     ├── InputFileError             a bad input file: names file, line and field
     ├── StoreError                 the database refused or is at the wrong version
     ├── NotFoundError              a record that was asked for does not exist
     ├── InterventionError          an intervention that cannot be made or applied as asked
     │    ├── PatchError            a prompt patch (a diff) that does not apply to its prompt
     │    └── CannotValidateError   a validation that cannot run: nothing drafted or written
     ├── MiningInProgressError      another mining run holds the database's lock: nothing paid or written
     ├── ExperimentError            an experiment that cannot run as declared: nothing paid or written
     ├── InvalidAnswerError         a trainer's answer does not fit its item: nothing recorded
     ├── LeaseError                 an item held by another reviewer: nothing recorded
     ├── StandingError              a trainer's standing refuses the work: no item claimed
     │    ├── TrainerPausedError    a lead paused the trainer
     │    └── NotQualifiedError     an expert-only item, and the trainer is not qualified in its domain
     ├── LocalModelError            the embedded model is missing or would not start
     └── LLMError                   a model call failed for good
          ├── LLMAuthError          bad or missing credentials: never retried
          ├── LLMBadRequestError    the provider refused the request: never retried
          └── StructuredOutputError the answer did not fit the schema, even after repair

The CLI prints ``str(error)`` on one line to stderr and exits with status 1.
"""

from __future__ import annotations

__all__ = [
    "OversightError",
    "ConfigError",
    "InputFileError",
    "StoreError",
    "NotFoundError",
    "InterventionError",
    "PatchError",
    "CannotValidateError",
    "MiningInProgressError",
    "ExperimentError",
    "InvalidAnswerError",
    "LeaseError",
    "StandingError",
    "TrainerPausedError",
    "NotQualifiedError",
    "LocalModelError",
    "LLMError",
    "LLMAuthError",
    "LLMBadRequestError",
    "StructuredOutputError",
]


class OversightError(Exception):
    """Base of every error oversight raises on purpose."""


class ConfigError(OversightError):
    """A setting is missing or invalid."""


class InputFileError(OversightError):
    """A bad input file. The message names the file, the line and the field.

    ``line`` is 1-based (for CSV, the physical line of the record, header is line 1);
    ``field`` is None when the problem is the line (or the file) as a whole.
    """

    def __init__(self, path: str, line: int | None, field: str | None, message: str):
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        where = self.path if line is None else f"{self.path}:{line}"
        what = f"field '{field}': {message}" if field else message
        super().__init__(f"{where}: {what}")


class StoreError(OversightError):
    """The database could not be opened, migrated or written."""


class NotFoundError(OversightError):
    """A record that was asked for does not exist."""


class InterventionError(OversightError, ValueError):
    """An intervention that cannot be decided, applied or validated as asked (a move its status does
    not allow, a blank reason, a patch that does not apply, nothing to decide recurrence with):
    nothing was changed."""


class PatchError(InterventionError):
    """A diff that does not apply to the text it is given."""


class CannotValidateError(InterventionError):
    """A validation that cannot run (wrong kind, not accepted, nothing to re-draft or decide with);
    nothing was drafted or written."""


class MiningInProgressError(OversightError):
    """Another mining run holds this database's lock; nothing was paid for or written."""


class ExperimentError(OversightError):
    """An experiment that cannot run as declared; nothing was paid for or written."""


class InvalidAnswerError(OversightError):
    """A trainer's answer does not fit its item (bad field, a verdict on a missing finding)."""


class LeaseError(OversightError):
    """A queued item is held by another reviewer (or no longer held by this one): nothing was recorded."""


class StandingError(OversightError):
    """What a lead decided of a trainer (``TrainerStanding``) refuses them this work: no item was claimed."""


class TrainerPausedError(StandingError):
    """A lead paused this trainer: no item is claimed for them until a lead resumes them."""


class NotQualifiedError(StandingError):
    """An item the routing rule sends to experts, and the trainer is not qualified in its domain."""


class LocalModelError(OversightError):
    """The embedded default model is not installed or did not start."""


class LLMError(OversightError):
    """A model call failed after the retry policy gave up."""


class LLMAuthError(LLMError):
    """The provider rejected the credentials."""


class LLMBadRequestError(LLMError):
    """The provider rejected the request itself (never retried)."""


class StructuredOutputError(LLMError):
    """The model's answer did not validate against the schema, even after one repair."""

    def __init__(self, message: str, raw: str = ""):
        self.raw = raw
        super().__init__(message)
