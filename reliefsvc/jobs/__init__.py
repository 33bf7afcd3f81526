"""Scheduled jobs: declared per domain in ``<domain>/jobs.py``, run by one process.

``reliefsvc jobs run`` starts APScheduler in a dedicated process (never inside web
workers). Every run of a job for a period is claimed with a row in ``job_run`` whose
(job, period) is unique, so two scheduler processes or a restart never do the same
period twice.
"""
