"""Frikommune experiments: registry, membership, rule sets and deadlines, follow-up windows
and comparisons — pure functions over events, like the indicator engine (no I/O).

    from kommunepuls.experiments.registry import registry, experiment
    entry = experiment("ivaerksaetteri_dimittender")
"""
