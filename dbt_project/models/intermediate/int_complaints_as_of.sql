-- Each complaint's state as of each as-of date of the run, for the complaints that date can see: opened in its
-- window, or opened up to 30 days before it (their 15- and 30-day deadlines may fall in the window: RP3, LG1).

with

versions as (

    select * from {{ ref('int_complaint_versions_in_run') }}

),

as_of_dates as {{ as_of_dates() }},

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
