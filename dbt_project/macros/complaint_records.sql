{#- The complaint leaves' records, once: which versions a run reads, each complaint's state as of D, whether its
    transaction is confirmed fraud as of D (LG2), and every leaf's per-record rule. The nightly models
    (int_complaint_versions_in_run, int_complaints_as_of, int_fraud_transaction_states, int_complaint_leaves) and the
    drill-down functions (models/drilldown/drilldown_complaints.sql, read by `riskcard explain`) both render these
    macros, so the rule that decides whether a complaint counts in a leaf is written here and nowhere else. -#}

{#- CTEs ending in `versions_in_run` (run_scope.sql): complaints opened in the window of one of the run's dates (or of
    the one date `as_of`) or up to the longer deadline and a day before it (their 15- and 30-day deadlines may fall
    in the window: RP3, LG1). -#}
{% macro complaint_versions_in_run(relation, as_of=none) -%}
    {{ versions_in_run(relation, 'complaint_id', {'opened_at': complaint_look_back_days()}, as_of) }}
{%- endmacro %}

{#- Each complaint's state as of each date of `dates` (a relation like as_of_dates()), for the complaints that date can
    see: opened in its window, or opened up to 30 days before it (their 15- and 30-day deadlines may fall in the
    window: RP3, LG1). `extra_columns`: more version columns to keep (the drill-down keeps the version's identity). -#}
{% macro complaint_states(versions, dates, extra_columns=[]) -%}
with

versions as (

    select * from {{ versions }}

),

as_of_dates as {{ dates }},

states as (

    select
        as_of_dates.as_of_date,
        as_of_dates.window_start,
        as_of_dates.window_end,
        versions.complaint_id,
        versions.opened_at,
        versions.customer_id,
        versions.category,
        versions.channel,
        versions.txn_id,
        versions.first_response_at,
        versions.closed_at,
        versions.resolution,
        versions.claimed_amount,
        {%- for column in extra_columns %}
        versions.{{ column }},
        {%- endfor %}
        versions.compensated_amount

    from as_of_dates
    inner join versions
        on {{ is_state_as_of('as_of_dates.as_of_date') }}
        -- local days, with a day to spare; the exact instants are compared below
        and versions.opened_date between
            as_of_dates.as_of_date - {{ var('window_days') | int - 1 + complaint_look_back_days() }}
            and as_of_dates.as_of_date

),

visible_states as (

    select
        *,
        opened_at >= window_start as is_opened_in_window

    from states
    where opened_at >= window_start - interval {{ longest_complaint_deadline_days() }} day
        and opened_at < window_end

)

select * from visible_states
{%- endmacro %}

{#- LG2's lookup: for the transactions that the complaint versions name, the as-of dates of the run (state_from ..
    state_to; with `as_of`, that one date) on which the transaction is confirmed fraud, whenever it was made.
    Point-in-time like every state: a confirmation known only after D does not count for D, and a confirmation
    withdrawn by a later version ends. `fraud_index`: int_fraud_transaction_versions (or a part of it). -#}
{% macro fraud_transaction_states(complaint_versions, fraud_index, as_of=none) -%}
with

named_transactions as (

    select distinct txn_id
    from {{ complaint_versions }}
    where txn_id is not null

),

indexed_versions as (

    select *
    from {{ fraud_index }}
    where updated_at < {{ run_scope_end(as_of) }}
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
        greatest(valid_from_date, {{ as_of_from(as_of) }}) as state_from,
        least(coalesce(valid_to_date, {{ as_of_to(as_of) }}), {{ as_of_to(as_of) }}) as state_to

    from version_ranges
    where fraud_confirmed

)

select * from fraud_states
where state_from <= state_to
{%- endmacro %}

{#- One row per (as_of_date, complaint) of `complaints` (rows of complaint_states) with every complaint leaf's share
    of it: <leaf>_num is the complaint's contribution to the leaf's numerator, <leaf>_den to its denominator (1 for a
    counted complaint, CNY for LG2's amounts), NULL when it does not count; <leaf>_in_sample is 1 when the complaint
    is in a percentile's sample and <leaf>_sample its value there. The leaves add these up (int_complaint_leaves); the
    drill-down lists the rows whose numerator share is not NULL. `fraud_states`: rows of fraud_transaction_states. -#}
{% macro complaint_contributions(complaints, fraud_states) -%}
with

complaint_facts as (

    select
        complaints.*,
        complaints.category in ('unauthorized_txn', 'fee_dispute') as is_dispute,
        -- litigation ends the complaint process, whether or not closed_at was filled in
        complaints.closed_at is not null or complaints.resolution = 'litigation' as is_closed,
        complaints.opened_at + interval {{ guideline_limit('response_deadline_days') }} day as response_deadline_at,
        complaints.opened_at + interval {{ guideline_limit('dispute_deadline_days') }} day as dispute_deadline_at,
        -- unanswered by the end of D: the wait runs to the end of D
        {{ hours_between('complaints.opened_at',
            'least(coalesce(complaints.first_response_at, complaints.window_end), complaints.window_end)') }}
            as hours_to_first_response,
        -- LG2: the complaint's transaction (from any window) is confirmed fraud as of D
        exists (
            select 1
            from {{ fraud_states }} as fraud_states
            where fraud_states.txn_id = complaints.txn_id
                and complaints.as_of_date between fraud_states.state_from and fraud_states.state_to
        ) as is_fraud_confirmed

    from {{ complaints }} as complaints

),

deadline_facts as (

    select
        *,
        response_deadline_at >= window_start and response_deadline_at < window_end as is_response_due_in_window,
        closed_at is null or closed_at > response_deadline_at as missed_response_deadline,
        is_dispute and dispute_deadline_at >= window_start and dispute_deadline_at < window_end
            as is_dispute_due_in_window,
        closed_at is null or closed_at > dispute_deadline_at as missed_dispute_deadline,
        -- LG2: closed unauthorized-transaction complaints opened in the window whose transaction is confirmed fraud
        is_opened_in_window and category = 'unauthorized_txn' and is_closed and is_fraud_confirmed
            as is_fraud_claim

    from complaint_facts

),

contributions as (

    select
        *,
        -- RP1: complaints opened in the window (per 10,000 active customers)
        case when is_opened_in_window then 1 end as rp1_num,
        -- RP2: complaints through the regulator or the media, of complaints
        case when is_opened_in_window and channel in ('regulator', 'media') then 1 end as rp2_num,
        case when is_opened_in_window then 1 end as rp2_den,
        -- RP3: complaints whose 15-day deadline falls in the window and that were not closed by it, of those due
        case when is_response_due_in_window and missed_response_deadline then 1 end as rp3_num,
        case when is_response_due_in_window then 1 end as rp3_den,
        -- RP4: hours to the first response (unanswered: to the end of D), complaints opened in the window (p90)
        case when is_opened_in_window then 1 end as rp4_in_sample,
        case when is_opened_in_window then hours_to_first_response end as rp4_sample,
        -- LG1: disputes whose 30-day deadline falls in the window and that were not closed by it, of those due
        case when is_dispute_due_in_window and missed_dispute_deadline then 1 end as lg1_num,
        case when is_dispute_due_in_window then 1 end as lg1_den,
        -- LG2: the amount claimed and not compensated (a null amount counts as 0), of the amount claimed
        case when is_fraud_claim then coalesce(claimed_amount, 0) - coalesce(compensated_amount, 0) end as lg2_num,
        case when is_fraud_claim then coalesce(claimed_amount, 0) end as lg2_den,
        -- LG3: closed disputes opened in the window that went to litigation, of closed disputes opened in it
        case when is_opened_in_window and is_dispute and is_closed and resolution = 'litigation' then 1 end as lg3_num,
        case when is_opened_in_window and is_dispute and is_closed then 1 end as lg3_den,
        -- CO1: privacy-leak complaints opened in the window (per 100,000 active customers)
        case when is_opened_in_window and category = 'privacy_leak' then 1 end as co1_num

    from deadline_facts

)

select * from contributions
{%- endmacro %}
