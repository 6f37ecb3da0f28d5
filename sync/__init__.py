"""The offline store (encrypted SQLite: results, check cache, rosters, outbox) and the syncer.

The only importer of sqlite-utils. Knows only agent.models and agent.errors: the concrete uploader
is handed in by the composition root. :mod:`.keys` holds the key and the sealing, :mod:`.migrations`
the schema, :mod:`.store` the store, :mod:`.syncer` the delivery loop.
"""
