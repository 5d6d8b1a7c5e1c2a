-- Backup leaves per as-of date: BC3, DC1, DC2.

with

backups as (

    select * from {{ ref('int_backups_as_of') }}

),

as_of_dates as {{ as_of_dates() }},

scheduled_backups as (

    select * from backups
    where is_scheduled_in_window

),

-- the systems that count for D: those with a backup scheduled in the window
systems_in_scope as (

    select
        as_of_date,
        system,
        coalesce(bool_or(status = 'success' and offsite_copy), false) as has_offsite_success,
        coalesce(bool_or(restore_tested and restore_ok), false) as has_good_restore_test

    from scheduled_backups
    group by as_of_date, system

),

-- BC3: every (system, local day of the window)
system_days as (

    select
        as_of_date,
        system,
        cast(unnest(generate_series(
            as_of_date - {{ var('window_days') | int - 1 }}, as_of_date, interval 1 day
        )) as date) as day

    from systems_in_scope

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

    from backups as successes
    cross join unnest([
        {{ local_date('successes.finished_at') }} - 1, {{ local_date('successes.finished_at') }}
        {%- for k in range(1, days_after + 1) %}, {{ local_date('successes.finished_at') }} + {{ k }}{% endfor %}
    ]) as candidate(day)
    where successes.status = 'success'
        and successes.finished_at <= successes.window_end
        and {{ local_day_start('candidate.day + 1') }} between successes.finished_at
            and successes.finished_at + interval {{ max_age_hours }} hour

),

uncovered_system_days as (

    select system_days.as_of_date, count(*) as system_days
    from system_days
    left join covered_system_days
        on covered_system_days.as_of_date = system_days.as_of_date
        and covered_system_days.system = system_days.system
        and covered_system_days.day = system_days.day
    where covered_system_days.day is null
    group by system_days.as_of_date

),

daily_system_counts as (

    select
        as_of_date,
        count(*) as systems,
        count(*) filter (where not has_offsite_success or not has_good_restore_test) as systems_unprotected

    from systems_in_scope
    group by as_of_date

),

daily_backup_counts as (

    select
        as_of_date,
        count(*) as backups,
        count(*) filter (where status <> 'success') as backups_not_successful

    from scheduled_backups
    group by as_of_date

),

daily_totals as (

    select
        as_of_dates.as_of_date,
        coalesce(daily_backup_counts.backups, 0) as backups,
        coalesce(daily_backup_counts.backups_not_successful, 0) as backups_not_successful,
        coalesce(daily_system_counts.systems, 0) as systems,
        coalesce(daily_system_counts.systems_unprotected, 0) as systems_unprotected,
        coalesce(daily_system_counts.systems, 0) * {{ var('window_days') | int }} as system_days,
        coalesce(uncovered_system_days.system_days, 0) as uncovered_system_days

    from as_of_dates
    left join daily_backup_counts
        on daily_backup_counts.as_of_date = as_of_dates.as_of_date
    left join daily_system_counts
        on daily_system_counts.as_of_date = as_of_dates.as_of_date
    left join uncovered_system_days
        on uncovered_system_days.as_of_date = as_of_dates.as_of_date

),

leaves as (

    select
        as_of_date,
        backups as backup_records,

        -- BC3: system-days whose end had no successful backup finished in the 24 h before, %
        uncovered_system_days as bc3_numerator,
        system_days as bc3_denominator,
        {{ ratio('uncovered_system_days', 'system_days') }} as bc3_value,
        cast(null as bigint) as bc3_sample_size,

        -- DC1: systems without an offsite successful backup or without a successful restore test, %
        systems_unprotected as dc1_numerator,
        systems as dc1_denominator,
        {{ ratio('systems_unprotected', 'systems') }} as dc1_value,
        cast(null as bigint) as dc1_sample_size,

        -- DC2: scheduled backups not successful, %
        backups_not_successful as dc2_numerator,
        backups as dc2_denominator,
        {{ ratio('backups_not_successful', 'backups') }} as dc2_value,
        cast(null as bigint) as dc2_sample_size

    from daily_totals

)

select * from leaves
