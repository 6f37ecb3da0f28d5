"""The PC/SC adapter, the only home of pyscard: transport, reader discovery, card monitor, NFC
Forum Type 4 tags."""
