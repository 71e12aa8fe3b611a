"""oversight: scalable oversight of language models.

Model drafts, AI critique and human refinement (the refine loop), then the failure
patterns that recur across refinements and the audits of judgments. The package
imports nothing heavy at the top: ``import oversight`` is cheap, and the stages are
imported where they are used.
"""

__version__ = "0.1.0"
