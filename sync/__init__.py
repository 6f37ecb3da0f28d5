"""The offline store (encrypted SQLite: results, check cache, rosters, outbox) and the syncer.

The only importer of sqlite-utils. Knows only agent.models, agent.errors and agent.ports: the
concrete uploader is handed in by the composition root. :mod:`.keys` holds the key and the sealing,
:mod:`.migrations` the schema, :mod:`.database` the file, its transactions and typed errors,
:mod:`.results`, :mod:`.check_cache`, :mod:`.rosters` and :mod:`.outbox` the repositories over it,
:mod:`.store` the store composing them, :mod:`.syncer` the delivery loop.
"""
