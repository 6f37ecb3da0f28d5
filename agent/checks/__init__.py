"""HTTP clients of the insurance (BHYT) and licensing backends: the only importer of requests."""
