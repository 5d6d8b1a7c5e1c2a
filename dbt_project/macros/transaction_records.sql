{#- The transaction leaves' records, once: which versions a run reads, the as-of dates each version counts for, and
    every leaf's per-version rule. The nightly models (int_transaction_versions_in_run, int_transaction_versions,
    int_transaction_leaves) and the drill-down functions (models/drilldown/drilldown_transactions.sql, read by
    `riskcard explain`) both render these macros, so the rule that decides whether a transaction counts in a leaf is
    written here and nowhere else. -#}

{#- CTEs ending in `versions_in_run` (run_scope.sql): transactions made in the window of one of the run's dates (or
    of the one date `as_of`). -#}
{% macro transaction_versions_in_run(relation, as_of=none) -%}
    {{ versions_in_run(relation, 'txn_id', {'event_at': 0}, as_of) }}
{%- endmacro %}

{#- The one pass over a run's transaction versions (`versions`, with version_validity's columns). Each version is the
    state of its transaction for a contiguous range of as-of dates, and its event day is in the window of as-of dates
    [event day, event day + window - 1]. The intersection, clipped to the run's dates first_as_of .. last_as_of (SQL
    date expressions), is the range of as-of dates for which this version counts in the window (counted_from ..
    counted_to). With first_as_of = last_as_of = D, the versions counted for D. `extra_columns`: more version
    columns to keep (the drill-down keeps the version's identity and the columns it shows). -#}
{% macro transaction_counted_versions(versions, first_as_of, last_as_of, extra_columns=[]) -%}
with

versions as (

    select * from {{ versions }}

),

run_dates as (

    select {{ first_as_of }} as first_as_of, {{ last_as_of }} as last_as_of

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
        {%- for column in extra_columns %}
        versions.{{ column }},
        {%- endfor %}
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
        {%- for column in extra_columns %}
        {{ column }},
        {%- endfor %}
        state_from,
        state_to,
        window_from as counted_from,
        window_to as counted_to

    from version_ranges
    where window_from <= window_to

)

select * from counted_versions
{%- endmacro %}

{#- Every transaction leaf's share of one transaction version, as select-list items over a row of counted versions:
    <leaf>_num is the version's contribution to the leaf's numerator, <leaf>_den to its denominator (1 for a counted
    transaction, CNY for an amount), NULL when it does not count. CO2 counts customers, not transactions: a customer
    is password-only unless one of their transactions used a stronger factor (co2_stronger_factor). The leaves add
    these up over the dates each version counts for (int_transaction_leaves); the drill-down lists the versions
    counted for D whose numerator share is not NULL. -#}
{% macro transaction_contributions() -%}
        -- SP1: large successful transactions authorised by password only, of large successful transactions
        case
            when status = 'success' and amount >= {{ guideline_limit('large_amount') }} and auth_method = 'password'
                then 1
        end as sp1_num,
        case when status = 'success' and amount >= {{ guideline_limit('large_amount') }} then 1 end as sp1_den,
        -- SP4: new-device transactions authorised by password only, of new-device transactions
        case when new_device and auth_method = 'password' then 1 end as sp4_num,
        case when new_device then 1 end as sp4_den,
        -- IC3: operator-error transactions, of all transactions (per 100,000)
        case when failure_reason = 'operator_error' then 1 end as ic3_num,
        -- BC2: the confirmed-fraud amount the risk engine did not flag, of the confirmed-fraud amount
        case when fraud_confirmed and not risk_flag then amount end as bc2_num,
        case when fraud_confirmed then amount end as bc2_den,
        -- CO3: the confirmed-fraud amount (BC2's denominator: the leaves sum bc2_den once for both), of the
        -- successful amount (basis points)
        bc2_den as co3_num,
        case when status = 'success' then amount end as co3_den,
        -- CO2: a transaction with a factor stronger than a password makes its customer not password-only
        coalesce(auth_method <> 'password', false) as co2_stronger_factor
{%- endmacro %}

{#- CO2's numerator for one as-of date, one row per customer: the active customers of `counted_versions` (the
    versions counted for that date, with transaction_contributions) none of whose transactions used a stronger
    factor. The nightly leaf counts the same customers for a whole range of dates at once (int_transaction_leaves:
    islands of each customer's counted ranges); tests/test_explain.py checks the two agree. -#}
{% macro password_only_customers(counted_versions) -%}
    select
        customer_id,
        max(event_at) as last_event_at,
        min(event_at) as first_event_at,
        count(*) as transactions,
        1 as co2_num

    from {{ counted_versions }}
    group by customer_id
    having not bool_or(co2_stronger_factor)
{%- endmacro %}
