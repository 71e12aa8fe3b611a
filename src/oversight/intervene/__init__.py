"""Interventions: targeted changes for failure patterns, and the evidence whether they worked.

``suggest`` proposes them (rules from the data; a model on top), ``apply`` turns a prompt patch
or few-shot set into a new prompt version, ``checks`` runs programmatic regression checks,
``validate`` re-drafts affected and control tasks with the old and the new prompt and decides,
with ``stats`` (paired bootstrap, judge calibration), whether the failure went down.
"""
