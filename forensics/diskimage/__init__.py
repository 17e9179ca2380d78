"""Forensic disk images read in place and read-only: EWF and raw containers (`images`),
The Sleuth Kit over them (`tsk`: the per-process cache, evidence references, reading one
file), discovery of volumes and files (`walk`), and opening any item's bytes (`opener`)."""
