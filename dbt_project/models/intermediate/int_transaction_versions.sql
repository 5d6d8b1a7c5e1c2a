-- The one pass over the run's transaction versions. Each version is the state of its transaction for a contiguous
-- range of as-of dates (int_transaction_versions_in_run), and its event day is in the window of as-of dates
-- [event day, event day + window - 1]. The intersection, clipped to the run's dates, is the range of as-of dates
-- for which this version counts in the window (counted_from .. counted_to); the leaves then add each version
-- once at counted_from and remove it after counted_to, instead of rescanning the log per date.
-- Whether a complaint's transaction from any window is confirmed fraud (LG2) is int_fraud_transaction_states.

with

versions as (

    select * from {{ ref('int_transaction_versions_in_run') }}

),

run_dates as (

    select {{ as_of_from() }} as first_as_of, {{ as_of_to() }} as last_as_of

),

version_ranges as (

    select
        versions.txn_id,
        versions.customer_id,
        versions.event_date,
        versions.amount,
        versions.status,
        versions.failure_reason,
        versions.auth_method,
        versions.new_device,
        versions.risk_flag,
        versions.fraud_confirmed,
        greatest(versions.valid_from_date, run_dates.first_as_of) as state_from,
        least(coalesce(versions.valid_to_date, run_dates.last_as_of), run_dates.last_as_of) as state_to,
        greatest(versions.event_date, versions.valid_from_date, run_dates.first_as_of) as window_from,
        least(
            versions.event_date + {{ var('window_days') | int - 1 }},
            coalesce(versions.valid_to_date, run_dates.last_as_of),
            run_dates.last_as_of
        ) as window_to

    from versions
    cross join run_dates
    where versions.valid_from_date <= run_dates.last_as_of

),

counted_versions as (

    select
        txn_id,
        customer_id,
        event_date,
        amount,
        status,
        failure_reason,
        auth_method,
        new_device,
        risk_flag,
        fraud_confirmed,
        state_from,
        state_to,
        window_from as counted_from,
        window_to as counted_to

    from version_ranges
    where window_from <= window_to

)

select * from counted_versions
