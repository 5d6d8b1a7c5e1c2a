-- LG2's lookup: for the transactions that the run's complaints name, the as-of dates of the run (state_from ..
-- state_to) on which the transaction is confirmed fraud, whenever it was made. Point-in-time like every state:
-- a confirmation known only after D does not count for D, and a confirmation withdrawn by a later version ends.

with

named_transactions as (

    select distinct txn_id
    from {{ ref('int_complaint_versions_in_run') }}
    where txn_id is not null

),

indexed_versions as (

    select *
    from {{ ref('int_fraud_transaction_versions') }}
    where updated_at < {{ run_scope_end() }}
        and txn_id in (select txn_id from named_transactions)

),

version_ranges as (

    select
        txn_id,
        fraud_confirmed,
        {{ version_validity('txn_id') }}
    from indexed_versions

),

fraud_states as (

    select
        txn_id,
        greatest(valid_from_date, {{ as_of_from() }}) as state_from,
        least(coalesce(valid_to_date, {{ as_of_to() }}), {{ as_of_to() }}) as state_to

    from version_ranges
    where fraud_confirmed

)

select * from fraud_states
where state_from <= state_to
