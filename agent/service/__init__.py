"""The desk's verification service: the pipeline (:mod:`.desk`), the verdict rules (:mod:`.verdict`),
the reader loop (:mod:`.worker`), the event fan-out to the API (:mod:`.hub`) and the JSON views
(:mod:`.views`). Importing it starts nothing."""
