-- The one pass over the run's transaction versions. Each version is the state of its transaction for a contiguous
-- range of as-of dates (int_transaction_versions_in_run), and its event day is in the window of as-of dates
-- [event day, event day + window - 1]. The intersection, clipped to the run's dates, is the range of as-of dates
-- for which this version counts in the window (counted_from .. counted_to); the leaves then add each version
-- once at counted_from and remove it after counted_to, instead of rescanning the log per date.
-- Whether a complaint's transaction from any window is confirmed fraud (LG2) is int_fraud_transaction_states.
-- The query is macros/transaction_records.sql's (transaction_counted_versions), shared with the drill-down.

{{ transaction_counted_versions(ref('int_transaction_versions_in_run'), as_of_from(), as_of_to()) }}
