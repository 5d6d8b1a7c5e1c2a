-- Complaint leaves per as-of date: RP1, RP2, RP3, RP4, LG1, LG2, LG3, CO1, as the sums of their complaints' shares
-- (macros/complaint_records.sql).

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

-- every complaint's share of every leaf: macros/complaint_records.sql, the rules' one place (the drill-down of
-- `riskcard explain` lists the same rows)
contributions as (

    {{ complaint_contributions('complaints', 'fraud_transaction_states') }}

),

daily_counts as (

    select
        as_of_date,
        count(*) filter (where is_opened_in_window) as complaints,
        count(rp1_num) as rp1_complaints,
        count(rp2_num) as regulator_or_media,
        count(rp2_den) as rp2_complaints,
        count(rp3_den) as response_due,
        count(rp3_num) as response_missed,
        quantile_cont(rp4_sample, 0.9) as p90_hours_to_first_response,
        count(rp4_in_sample) as rp4_complaints,
        count(lg1_den) as disputes_due,
        count(lg1_num) as disputes_missed,
        coalesce(sum(lg2_den), 0) as fraud_claimed_amount,
        coalesce(sum(lg2_num), 0) as fraud_uncompensated_amount,
        count(lg3_den) as disputes_closed,
        count(lg3_num) as disputes_litigated,
        count(co1_num) as privacy_leaks

    from contributions
    group by as_of_date

),

daily_totals as (

    select
        as_of_dates.as_of_date,
        coalesce(daily_counts.complaints, 0) as complaints,
        coalesce(daily_counts.rp1_complaints, 0) as rp1_complaints,
        coalesce(daily_counts.regulator_or_media, 0) as regulator_or_media,
        coalesce(daily_counts.rp2_complaints, 0) as rp2_complaints,
        coalesce(daily_counts.response_due, 0) as response_due,
        coalesce(daily_counts.response_missed, 0) as response_missed,
        daily_counts.p90_hours_to_first_response,
        coalesce(daily_counts.rp4_complaints, 0) as rp4_complaints,
        coalesce(daily_counts.disputes_due, 0) as disputes_due,
        coalesce(daily_counts.disputes_missed, 0) as disputes_missed,
        coalesce(daily_counts.disputes_closed, 0) as disputes_closed,
        coalesce(daily_counts.disputes_litigated, 0) as disputes_litigated,
        coalesce(daily_counts.privacy_leaks, 0) as privacy_leaks,
        coalesce(daily_counts.fraud_claimed_amount, 0) as fraud_claimed_amount,
        coalesce(daily_counts.fraud_uncompensated_amount, 0) as fraud_uncompensated_amount,
        coalesce(transaction_leaves.active_customers, 0) as active_customers

    from as_of_dates
    left join daily_counts
        on daily_counts.as_of_date = as_of_dates.as_of_date
    left join transaction_leaves
        on transaction_leaves.as_of_date = as_of_dates.as_of_date

),

leaves as (

    select
        as_of_date,
        complaints as complaint_records,

        -- RP1: complaints per 10,000 active customers
        rp1_complaints as rp1_numerator,
        active_customers as rp1_denominator,
        {{ ratio('rp1_complaints', 'active_customers', 10000) }} as rp1_value,
        cast(null as bigint) as rp1_sample_size,

        -- RP2: complaints through the regulator or the media, %
        regulator_or_media as rp2_numerator,
        rp2_complaints as rp2_denominator,
        {{ ratio('regulator_or_media', 'rp2_complaints') }} as rp2_value,
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
        rp4_complaints as rp4_sample_size,

        -- LG1: disputes whose 30-day deadline falls in the window and that were not closed by it, %
        disputes_missed as lg1_numerator,
        disputes_due as lg1_denominator,
        {{ ratio('disputes_missed', 'disputes_due') }} as lg1_value,
        cast(null as bigint) as lg1_sample_size,

        -- LG2: uncompensated share of the amount claimed for confirmed fraud, %
        fraud_uncompensated_amount as lg2_numerator,
        fraud_claimed_amount as lg2_denominator,
        {{ ratio('fraud_uncompensated_amount', 'fraud_claimed_amount') }} as lg2_value,
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
