"""Provenance: what produced each output of a run, from which inputs, with which code and software.

Every workflow job writes one JSON record, results/provenance/{rule}/{wildcards}.json, naming its
inputs and outputs with their sha256, so the run is a file-level DAG of jobs (docs/provenance.md).

- `records`: write a record (`Job` describes the job, `record` writes it; `record_external` for a
  file made outside a job); checksummed file entries.
- `environment`: the facts about what ran: msgnn code hash, workflow code hash, git state, user.
- `lineage`: read a run's records (`Run`) and walk from an output back to the raw inputs.
- `w3c_prov`: export as a W3C PROV document (PROV-JSON, PROV-N, PROV-O).
- `ro_crate`: export as an RO-Crate (Provenance Run Crate profile).

This package knows no science: the glue (msgnn.workflow.script) asks the MD stage for the LAMMPS
build and the potential a job read, and passes them in.
"""
