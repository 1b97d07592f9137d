"""The plumbing around the science: validated config, the glue every workflow script uses
(logging, provenance record), provenance records and exports, Snakemake lock recovery, the report."""
