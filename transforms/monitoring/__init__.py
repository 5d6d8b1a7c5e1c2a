"""Intraday KRI monitoring: provisional indicators after every micro-batch, breach and staleness episodes, alerts.

Nothing here is ever published: the provisional rows live in ``marts.fct_leaf_indicators_intraday`` and the
episodes in ``ops.kri_breaches`` / ``ops.source_staleness``; every output labels them provisional.
"""
