-- Complaint leaves per as-of date: RP1, RP2, RP3, RP4, LG1, LG2, LG3, CO1.

with

complaints as (

    select * from {{ ref('int_complaints_as_of') }}

),

transaction_leaves as (

    select * from {{ ref('int_transaction_leaves') }}

),

fraud_transaction_states as (

    select * from {{ ref('int_fraud_transaction_states') }}

),

as_of_dates as {{ as_of_dates() }},

complaint_facts as (

    select
        as_of_date,
        window_start,
        window_end,
        complaint_id,
        txn_id,
        category,
        channel,
        resolution,
        closed_at,
        is_opened_in_window,
        category in ('unauthorized_txn', 'fee_dispute') as is_dispute,
        -- litigation ends the complaint process, whether or not closed_at was filled in
        closed_at is not null or resolution = 'litigation' as is_closed,
        opened_at + interval {{ guideline_limit('response_deadline_days') }} day as response_deadline_at,
        opened_at + interval {{ guideline_limit('dispute_deadline_days') }} day as dispute_deadline_at,
        -- unanswered by the end of D: the wait runs to the end of D
        {{ hours_between('opened_at', 'least(coalesce(first_response_at, window_end), window_end)') }}
            as hours_to_first_response,
        coalesce(claimed_amount, 0) as claimed_amount,
        coalesce(compensated_amount, 0) as compensated_amount

    from complaints

),

deadline_facts as (

    select
        *,
        response_deadline_at >= window_start and response_deadline_at < window_end as is_response_due_in_window,
        closed_at is null or closed_at > response_deadline_at as missed_response_deadline,
        is_dispute and dispute_deadline_at >= window_start and dispute_deadline_at < window_end
            as is_dispute_due_in_window,
        closed_at is null or closed_at > dispute_deadline_at as missed_dispute_deadline

    from complaint_facts

),

-- LG2: closed unauthorized-transaction complaints opened in the window whose transaction is confirmed fraud as of D
fraud_claims as (

    select
        complaint_facts.as_of_date,
        sum(complaint_facts.claimed_amount) as claimed_amount,
        sum(complaint_facts.compensated_amount) as compensated_amount

    from complaint_facts
    inner join fraud_transaction_states
        on fraud_transaction_states.txn_id = complaint_facts.txn_id
        and complaint_facts.as_of_date between fraud_transaction_states.state_from
            and fraud_transaction_states.state_to
    where complaint_facts.is_opened_in_window
        and complaint_facts.category = 'unauthorized_txn'
        and complaint_facts.is_closed
    group by complaint_facts.as_of_date

),

daily_counts as (

    select
        as_of_date,
        count(*) filter (where is_opened_in_window) as complaints,
        count(*) filter (where is_opened_in_window and channel in ('regulator', 'media')) as regulator_or_media,
        count(*) filter (where is_response_due_in_window) as response_due,
        count(*) filter (where is_response_due_in_window and missed_response_deadline) as response_missed,
        quantile_cont(hours_to_first_response, 0.9) filter (where is_opened_in_window)
            as p90_hours_to_first_response,
        count(*) filter (where is_dispute_due_in_window) as disputes_due,
        count(*) filter (where is_dispute_due_in_window and missed_dispute_deadline) as disputes_missed,
        count(*) filter (where is_opened_in_window and is_dispute and is_closed) as disputes_closed,
        count(*) filter (
            where is_opened_in_window and is_dispute and is_closed and resolution = 'litigation'
        ) as disputes_litigated,
        count(*) filter (where is_opened_in_window and category = 'privacy_leak') as privacy_leaks

    from deadline_facts
    group by as_of_date

),

daily_totals as (

    select
        as_of_dates.as_of_date,
        coalesce(daily_counts.complaints, 0) as complaints,
        coalesce(daily_counts.regulator_or_media, 0) as regulator_or_media,
        coalesce(daily_counts.response_due, 0) as response_due,
        coalesce(daily_counts.response_missed, 0) as response_missed,
        daily_counts.p90_hours_to_first_response,
        coalesce(daily_counts.disputes_due, 0) as disputes_due,
        coalesce(daily_counts.disputes_missed, 0) as disputes_missed,
        coalesce(daily_counts.disputes_closed, 0) as disputes_closed,
        coalesce(daily_counts.disputes_litigated, 0) as disputes_litigated,
        coalesce(daily_counts.privacy_leaks, 0) as privacy_leaks,
        coalesce(fraud_claims.claimed_amount, 0) as fraud_claimed_amount,
        coalesce(fraud_claims.compensated_amount, 0) as fraud_compensated_amount,
        coalesce(transaction_leaves.active_customers, 0) as active_customers

    from as_of_dates
    left join daily_counts
        on daily_counts.as_of_date = as_of_dates.as_of_date
    left join fraud_claims
        on fraud_claims.as_of_date = as_of_dates.as_of_date
    left join transaction_leaves
        on transaction_leaves.as_of_date = as_of_dates.as_of_date

),

leaves as (

    select
        as_of_date,
        complaints as complaint_records,

        -- RP1: complaints per 10,000 active customers
        complaints as rp1_numerator,
        active_customers as rp1_denominator,
        {{ ratio('complaints', 'active_customers', 10000) }} as rp1_value,
        cast(null as bigint) as rp1_sample_size,

        -- RP2: complaints through the regulator or the media, %
        regulator_or_media as rp2_numerator,
        complaints as rp2_denominator,
        {{ ratio('regulator_or_media', 'complaints') }} as rp2_value,
        cast(null as bigint) as rp2_sample_size,

        -- RP3: complaints whose 15-day deadline falls in the window and that were not closed by it, %
        response_missed as rp3_numerator,
        response_due as rp3_denominator,
        {{ ratio('response_missed', 'response_due') }} as rp3_value,
        cast(null as bigint) as rp3_sample_size,

        -- RP4: 90th percentile of hours to the first response, complaints opened in the window
        cast(null as double) as rp4_numerator,
        cast(null as double) as rp4_denominator,
        p90_hours_to_first_response as rp4_value,
        complaints as rp4_sample_size,

        -- LG1: disputes whose 30-day deadline falls in the window and that were not closed by it, %
        disputes_missed as lg1_numerator,
        disputes_due as lg1_denominator,
        {{ ratio('disputes_missed', 'disputes_due') }} as lg1_value,
        cast(null as bigint) as lg1_sample_size,

        -- LG2: uncompensated share of the amount claimed for confirmed fraud, %
        fraud_claimed_amount - fraud_compensated_amount as lg2_numerator,
        fraud_claimed_amount as lg2_denominator,
        {{ ratio('fraud_claimed_amount - fraud_compensated_amount', 'fraud_claimed_amount') }} as lg2_value,
        cast(null as bigint) as lg2_sample_size,

        -- LG3: closed disputes that went to litigation, %
        disputes_litigated as lg3_numerator,
        disputes_closed as lg3_denominator,
        {{ ratio('disputes_litigated', 'disputes_closed') }} as lg3_value,
        cast(null as bigint) as lg3_sample_size,

        -- CO1: privacy-leak complaints per 100,000 active customers
        privacy_leaks as co1_numerator,
        active_customers as co1_denominator,
        {{ ratio('privacy_leaks', 'active_customers', 100000) }} as co1_value,
        cast(null as bigint) as co1_sample_size

    from daily_totals

)

select * from leaves
