{#- The backup leaves' records, once: which versions a run reads, each backup's state as of D, and every leaf's
    per-record rule, for its three kinds of record: a backup (DC2), a system (DC1) and a system-day (BC3). The nightly
    models (int_backup_versions_in_run, int_backups_as_of, int_backup_leaves) and the drill-down functions
    (models/drilldown/drilldown_backups.sql, read by `riskcard explain`) both render these macros, so the rule that
    decides whether a record counts in a leaf is written here and nowhere else. -#}

{#- CTEs ending in `versions_in_run` (run_scope.sql): backups scheduled in the window of one of the run's dates (or of
    the one date `as_of`), or finished from backup_look_back_days() before it (BC3 looks for the newest success at
    each day's end, whenever that backup was scheduled: its 24 h and a day to spare). -#}
{% macro backup_versions_in_run(relation, as_of=none) -%}
    {{ versions_in_run(relation, 'backup_id', {
        'scheduled_at': backup_look_back_days(), 'finished_at': backup_look_back_days()
    }, as_of) }}
{%- endmacro %}

{#- Each backup's state as of each date of `dates` (a relation like as_of_dates()), for the backups that date can see:
    scheduled in its window (DC1, DC2, and which systems count for BC3), or successful and finished from a day before
    the window to its end (BC3 asks for the newest success at each day's end, whenever that backup was scheduled).
    `extra_columns`: more version columns to keep (the drill-down keeps the version's identity). -#}
{% macro backup_states(versions, dates, extra_columns=[]) -%}
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
        versions.backup_id,
        versions.system,
        versions.backup_type,
        versions.scheduled_at,
        versions.started_at,
        versions.finished_at,
        versions.status,
        versions.offsite_copy,
        versions.restore_tested,
        {%- for column in extra_columns %}
        versions.{{ column }},
        {%- endfor %}
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
{%- endmacro %}

{#- Every backup's share of DC2, one row per (as_of_date, backup) of `backups` (rows of backup_states): dc2_num is 1
    for a scheduled backup that did not succeed, dc2_den 1 for a scheduled backup, NULL when it does not count. -#}
{% macro backup_contributions(backups) -%}
    select
        *,
        -- DC2: scheduled backups not successful, of scheduled backups
        case when is_scheduled_in_window and status <> 'success' then 1 end as dc2_num,
        case when is_scheduled_in_window then 1 end as dc2_den

    from {{ backups }}
{%- endmacro %}

{#- The systems that count for D, one row per (as_of_date, system): those with a backup scheduled in the window, with
    DC1's share: dc1_num is 1 for a system without a successful backup with an offsite copy or without a good restore
    test among them, dc1_den 1 for every such system. -#}
{% macro backup_system_contributions(backups) -%}
with

systems_in_scope as (

    select
        as_of_date,
        system,
        coalesce(bool_or(status = 'success' and offsite_copy), false) as has_offsite_success,
        coalesce(bool_or(restore_tested and restore_ok), false) as has_good_restore_test,
        count(*) as scheduled_backups,
        max(scheduled_at) as last_scheduled_at

    from {{ backups }}
    where is_scheduled_in_window
    group by as_of_date, system

)

select
    *,
    -- DC1: systems without an offsite successful backup or without a successful restore test, of the systems
    case when not has_offsite_success or not has_good_restore_test then 1 end as dc1_num,
    1 as dc1_den

from systems_in_scope
{%- endmacro %}

{#- BC3's records, one row per (as_of_date, system, day): every local day of the window of every system that counts
    for D (`systems`: rows of backup_system_contributions), bc3_num 1 when no successful backup of `backups` finished
    in the 24 h before the day's end (24:00 local), bc3_den 1 for every system-day. -#}
{% macro backup_system_day_contributions(backups, systems) -%}
with

-- BC3: every (system, local day of the window)
system_days as (

    select
        as_of_date,
        system,
        cast(unnest(generate_series(
            as_of_date - {{ var('window_days') | int - 1 }}, as_of_date, interval 1 day
        )) as date) as day

    from {{ systems }}

),

-- a success finished at f covers the days whose end (24:00 local) lies in [f, f + 24 h] (the guideline's limit,
-- backup_max_age_hours): with 24 h, its own local day, or the day before when it finished exactly at midnight
{%- set max_age_hours = guideline_limit('backup_max_age_hours') %}
{%- set days_after = ((max_age_hours / 24) | round(0, 'ceil') | int) - 1 %}
covered_system_days as (

    select distinct
        successes.as_of_date,
        successes.system,
        candidate.day

    from {{ backups }} as successes
    cross join unnest([
        {{ local_date('successes.finished_at') }} - 1, {{ local_date('successes.finished_at') }}
        {%- for k in range(1, days_after + 1) %}, {{ local_date('successes.finished_at') }} + {{ k }}{% endfor %}
    ]) as candidate(day)
    where successes.status = 'success'
        and successes.finished_at <= successes.window_end
        and {{ local_day_start('candidate.day + 1') }} between successes.finished_at
            and successes.finished_at + interval {{ max_age_hours }} hour

)

select
    system_days.as_of_date,
    system_days.system,
    system_days.day,
    {{ local_day_start('system_days.day + 1') }} as day_end,
    -- BC3: system-days whose end had no successful backup finished in the 24 h before, of all system-days
    case when covered_system_days.day is null then 1 end as bc3_num,
    1 as bc3_den

from system_days
left join covered_system_days
    on covered_system_days.as_of_date = system_days.as_of_date
    and covered_system_days.system = system_days.system
    and covered_system_days.day = system_days.day
{%- endmacro %}
