"""HTTP clients of the insurance (BHYT) and licensing backends: the only importer of requests.

:mod:`.http` holds the call policy (timeouts, retries with backoff and jitter for idempotent calls,
circuit breaker, typed errors); :mod:`.insurance` and :mod:`.licensing` validate what each backend
answers; :mod:`.uploader` sends the outbox's events.
"""
