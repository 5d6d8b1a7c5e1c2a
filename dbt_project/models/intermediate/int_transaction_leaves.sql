-- Transaction leaves per as-of date: SP1, SP4, IC3, BC2, CO3, CO2, and the active customers that RP1 and CO1
-- divide by, from each version's shares (macros/transaction_records.sql: <leaf>_num, <leaf>_den). Sums are running
-- totals of per-version changes (int_transaction_versions): a version adds its measures on counted_from and takes
-- them away the day after counted_to. Distinct customers cannot be summed that way, so each customer's counted
-- ranges are first merged into islands (overlaps counted once).

with

-- every version's share of every leaf: macros/transaction_records.sql, the rules' one place (the drill-down of
-- `riskcard explain` lists the versions counted for one date)
counted_versions as (

    select
        *,
        {{ transaction_contributions() }}

    from {{ ref('int_transaction_versions') }}

),

as_of_dates as {{ as_of_dates() }},

-- the measures of all versions sharing one counted range (at most window x dates ranges, however many versions)
range_measures as (

    select
        counted_from,
        counted_to,
        count(*) as transactions,
        count(sp1_den) as large_successful,
        count(sp1_num) as large_successful_password_only,
        count(sp4_den) as new_device,
        count(sp4_num) as new_device_password_only,
        count(ic3_num) as operator_error,
        coalesce(sum(bc2_den), 0) as fraud_amount,
        coalesce(sum(bc2_num), 0) as fraud_amount_unflagged,
        coalesce(sum(co3_den), 0) as successful_amount

    from counted_versions
    group by counted_from, counted_to

),

measure_changes as (

    select
        counted_from as change_date,
        transactions,
        large_successful,
        large_successful_password_only,
        new_device,
        new_device_password_only,
        operator_error,
        fraud_amount,
        fraud_amount_unflagged,
        successful_amount
    from range_measures

    union all

    select
        counted_to + 1 as change_date,
        -transactions,
        -large_successful,
        -large_successful_password_only,
        -new_device,
        -new_device_password_only,
        -operator_error,
        -fraud_amount,
        -fraud_amount_unflagged,
        -successful_amount
    from range_measures

),

-- Distinct customers per as-of date, in two populations: active (any transaction) and not password-only (a
-- transaction with a stronger factor). One ordered pass per customer: a span that starts after everything before
-- it has ended (reach) opens an island; islands of one customer never overlap, so counting islands that cover D
-- counts each customer once. The not-password-only reach only looks at that population's own spans.
customer_spans as (

    select
        customer_id,
        co2_stronger_factor as used_stronger_factor,
        counted_from,
        counted_to,
        max(counted_to) over earlier_spans as reach_before,
        max(case when co2_stronger_factor then counted_to end) over earlier_spans as stronger_reach_before

    from counted_versions
    window earlier_spans as (
        partition by customer_id
        order by counted_from, counted_to
        rows between unbounded preceding and 1 preceding
    )

),

customer_last_days as (

    select
        customer_id,
        max(counted_to) as counted_to,
        max(counted_to) filter (where co2_stronger_factor) as stronger_counted_to

    from counted_versions
    group by customer_id

),

-- +1 where an island begins, -1 the day after it ends (at the next island's start, or after the customer's last)
customer_changes as (

    select counted_from as change_date, 1 as active_customers, 0 as stronger_customers
    from customer_spans
    where reach_before is null or counted_from > reach_before + 1

    union all

    select reach_before + 1 as change_date, -1 as active_customers, 0 as stronger_customers
    from customer_spans
    where counted_from > reach_before + 1

    union all

    select counted_to + 1 as change_date, -1 as active_customers, 0 as stronger_customers
    from customer_last_days

    union all

    select counted_from as change_date, 0 as active_customers, 1 as stronger_customers
    from customer_spans
    where used_stronger_factor and (stronger_reach_before is null or counted_from > stronger_reach_before + 1)

    union all

    select stronger_reach_before + 1 as change_date, 0 as active_customers, -1 as stronger_customers
    from customer_spans
    where used_stronger_factor and counted_from > stronger_reach_before + 1

    union all

    select stronger_counted_to + 1 as change_date, 0 as active_customers, -1 as stronger_customers
    from customer_last_days
    where stronger_counted_to is not null

),

daily_changes as (

    select
        change_date,
        sum(transactions) as transactions,
        sum(large_successful) as large_successful,
        sum(large_successful_password_only) as large_successful_password_only,
        sum(new_device) as new_device,
        sum(new_device_password_only) as new_device_password_only,
        sum(operator_error) as operator_error,
        sum(fraud_amount) as fraud_amount,
        sum(fraud_amount_unflagged) as fraud_amount_unflagged,
        sum(successful_amount) as successful_amount
    from measure_changes
    group by change_date

),

daily_customer_changes as (

    select
        change_date,
        sum(active_customers) as active_customers,
        sum(stronger_customers) as stronger_customers
    from customer_changes
    group by change_date

),

daily_totals as (

    select
        as_of_dates.as_of_date,
        sum(coalesce(daily_changes.transactions, 0)) over running as transactions,
        sum(coalesce(daily_changes.large_successful, 0)) over running as large_successful,
        sum(coalesce(daily_changes.large_successful_password_only, 0)) over running
            as large_successful_password_only,
        sum(coalesce(daily_changes.new_device, 0)) over running as new_device,
        sum(coalesce(daily_changes.new_device_password_only, 0)) over running as new_device_password_only,
        sum(coalesce(daily_changes.operator_error, 0)) over running as operator_error,
        sum(coalesce(daily_changes.fraud_amount, 0)) over running as fraud_amount,
        sum(coalesce(daily_changes.fraud_amount_unflagged, 0)) over running as fraud_amount_unflagged,
        sum(coalesce(daily_changes.successful_amount, 0)) over running as successful_amount,
        sum(coalesce(daily_customer_changes.active_customers, 0)) over running as active_customers,
        sum(coalesce(daily_customer_changes.stronger_customers, 0)) over running as stronger_customers

    from as_of_dates
    left join daily_changes
        on daily_changes.change_date = as_of_dates.as_of_date
    left join daily_customer_changes
        on daily_customer_changes.change_date = as_of_dates.as_of_date
    window running as (order by as_of_dates.as_of_date rows between unbounded preceding and current row)

),

leaves as (

    select
        as_of_date,
        transactions as transaction_records,
        active_customers,

        -- SP1: large successful transactions authorised by password only, %
        large_successful_password_only as sp1_numerator,
        large_successful as sp1_denominator,
        {{ ratio('large_successful_password_only', 'large_successful') }} as sp1_value,
        cast(null as bigint) as sp1_sample_size,

        -- SP4: new-device transactions authorised by password only, %
        new_device_password_only as sp4_numerator,
        new_device as sp4_denominator,
        {{ ratio('new_device_password_only', 'new_device') }} as sp4_value,
        cast(null as bigint) as sp4_sample_size,

        -- IC3: operator-error transactions per 100,000 transactions
        operator_error as ic3_numerator,
        transactions as ic3_denominator,
        {{ ratio('operator_error', 'transactions', 100000) }} as ic3_value,
        cast(null as bigint) as ic3_sample_size,

        -- BC2: confirmed-fraud amount the risk engine did not flag, % of confirmed-fraud amount
        fraud_amount_unflagged as bc2_numerator,
        fraud_amount as bc2_denominator,
        {{ ratio('fraud_amount_unflagged', 'fraud_amount') }} as bc2_value,
        cast(null as bigint) as bc2_sample_size,

        -- CO3: confirmed-fraud amount per successful amount, basis points
        fraud_amount as co3_numerator,
        successful_amount as co3_denominator,
        {{ ratio('fraud_amount', 'successful_amount', 10000) }} as co3_value,
        cast(null as bigint) as co3_sample_size,

        -- CO2: active customers whose every transaction used a password only, %
        active_customers - stronger_customers as co2_numerator,
        active_customers as co2_denominator,
        {{ ratio('active_customers - stronger_customers', 'active_customers') }} as co2_value,
        cast(null as bigint) as co2_sample_size

    from daily_totals

)

select * from leaves
