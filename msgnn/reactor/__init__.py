"""Reactor stage: continuous MSMPR crystallizer logs -> cleaned data -> growth and nucleation rates.

generate (synthetic logs from MD kinetics) · units + schema (read, pandera, pint) · clean
(de-dup, Hampel, gaps, steady state, change report) · fit (G, B0, CIs, plot) · pipeline (one
call per workflow rule) · recovery (accuracy vs the generator's truth). Format: docs/reactor_schema.md.
"""
