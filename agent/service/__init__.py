"""The desk's verification service (docs/architecture.md "Layers"): the facade the reader loop, the API
and the command line use (:mod:`.desk`), the one pipeline (:mod:`.pipeline`), the verdict rules
(:mod:`.verdict`), the policy of each kind of desk (:mod:`.policy`), the entitlement answers
(:mod:`.entitlement`), identity comparison (:mod:`.identity_check`), the key for the next tap
(:mod:`.keys`), the desk's state (:mod:`.state`) and history (:mod:`.history`), the reader loop
(:mod:`.worker`) and the event fan-out to the API (:mod:`.hub`). Importing it starts nothing."""
