"""The wiring (docs/architecture.md "Layers"): the one package that builds real and simulated adapters
and composes them with the verification service. :mod:`.production` builds a desk from the settings
(PC/SC readers, camera, backend clients, store, audit log, receipt key, chip reader, local API);
:mod:`.simulated` provides the simulated devices (a simulated card in pcscd's virtual reader or in
process, a simulated webcam, pcscd itself); :mod:`.demo` the demo's world, citizens and scenarios.
Commands only parse arguments and call into here. Importing it starts nothing."""
