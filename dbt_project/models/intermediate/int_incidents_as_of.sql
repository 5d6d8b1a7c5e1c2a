-- Each incident's state as of each as-of date of the run, for the incidents that started in that date's window.
-- Durations of incidents still open at the end of D run to the end of D (outage_end_at).

with

versions as (

    select * from {{ ref('int_incident_versions_in_run') }}

),

as_of_dates as {{ as_of_dates() }},

states as (

    select
        as_of_dates.as_of_date,
        as_of_dates.window_start,
        as_of_dates.window_end,
        versions.incident_id,
        versions.system,
        versions.customer_facing,
        versions.planned,
        versions.cause,
        versions.vendor,
        versions.severity,
        versions.started_at,
        versions.started_at_local,
        versions.detected_at,
        versions.escalated_at,
        versions.resolved_at,
        versions.regulator_reported_at,
        versions.loss_event,
        versions.review_completed_at,
        versions.recurrence_of

    from as_of_dates
    inner join versions
        on {{ is_state_as_of('as_of_dates.as_of_date') }}
        and versions.started_date between as_of_dates.as_of_date - {{ var('window_days') | int - 1 }}
            and as_of_dates.as_of_date

),

states_in_window as (

    select
        *,
        -- not resolved by the end of D (a resolution stamped later is not known yet): open until the end of D
        case when resolved_at <= window_end then resolved_at else window_end end as outage_end_at

    from states
    where started_at >= window_start
        and started_at < window_end

)

select * from states_in_window
