-- Each backup's state as of each as-of date of the run, for the backups that date can see: scheduled in its
-- window (DC1, DC2, and which systems count for BC3), or successful and finished from a day before the window
-- to its end (BC3 asks for the newest success at each day's end, whenever that backup was scheduled).

with

versions as (

    select * from {{ ref('int_backup_versions_in_run') }}

),

as_of_dates as {{ as_of_dates() }},

states as (

    select
        as_of_dates.as_of_date,
        as_of_dates.window_start,
        as_of_dates.window_end,
        versions.backup_id,
        versions.system,
        versions.backup_type,
        versions.scheduled_at,
        versions.started_at,
        versions.finished_at,
        versions.status,
        versions.offsite_copy,
        versions.restore_tested,
        versions.restore_ok

    from as_of_dates
    inner join versions
        on {{ is_state_as_of('as_of_dates.as_of_date') }}
        -- local days, with days to spare; the exact instants are compared below
        and least(versions.scheduled_date, coalesce(versions.finished_date, versions.scheduled_date))
            <= as_of_dates.as_of_date + 1
        and greatest(versions.scheduled_date, coalesce(versions.finished_date, versions.scheduled_date))
            >= as_of_dates.as_of_date - {{ var('window_days') | int - 1 + backup_look_back_days() }}

),

visible_states as (

    select
        *,
        scheduled_at >= window_start and scheduled_at < window_end as is_scheduled_in_window

    from states
    where (scheduled_at >= window_start and scheduled_at < window_end)
        or (
            status = 'success'
            and finished_at >= window_start - interval {{ guideline_limit('backup_max_age_hours') }} hour
            and finished_at <= window_end
        )

)

select * from visible_states
