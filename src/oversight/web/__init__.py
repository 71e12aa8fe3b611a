"""The review page: trainers refine drafts in the browser; leads read patterns and decide.

``create_app(project)`` builds the FastAPI application; `oversight serve` runs it on uvicorn.
"""

from oversight.web.app import create_app, create_app_from_env

__all__ = ["create_app", "create_app_from_env"]
