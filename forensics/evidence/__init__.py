"""Evidence containers read in place and read-only: forensic disk images (EWF, raw) through
The Sleuth Kit, and the references that say where an item's bytes live."""
