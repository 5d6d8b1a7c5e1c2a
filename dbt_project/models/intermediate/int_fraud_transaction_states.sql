-- LG2's lookup: for the transactions that the run's complaints name, the as-of dates of the run (state_from ..
-- state_to) on which the transaction is confirmed fraud, whenever it was made. Point-in-time like every state:
-- a confirmation known only after D does not count for D, and a confirmation withdrawn by a later version ends.
-- The query is macros/complaint_records.sql's (fraud_transaction_states), shared with the drill-down.

{{ fraud_transaction_states(ref('int_complaint_versions_in_run'), ref('int_fraud_transaction_versions')) }}
