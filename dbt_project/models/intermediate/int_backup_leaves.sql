-- Backup leaves per as-of date: BC3, DC1, DC2, as the sums of their records' shares (macros/backup_records.sql):
-- backups for DC2, the systems that count for DC1, their system-days for BC3.

with

backups as (

    select * from {{ ref('int_backups_as_of') }}

),

as_of_dates as {{ as_of_dates() }},

-- every record's share of every leaf: macros/backup_records.sql, the rules' one place (the drill-down of
-- `riskcard explain` lists the same rows)
backup_records as (

    {{ backup_contributions('backups') }}

),

system_records as (

    {{ backup_system_contributions('backups') }}

),

system_day_records as (

    {{ backup_system_day_contributions('backups', 'system_records') }}

),

uncovered_system_days as (

    select as_of_date, count(bc3_num) as system_days
    from system_day_records
    group by as_of_date

),

daily_system_counts as (

    select
        as_of_date,
        count(dc1_den) as systems,
        count(dc1_num) as systems_unprotected

    from system_records
    group by as_of_date

),

daily_backup_counts as (

    select
        as_of_date,
        count(*) filter (where is_scheduled_in_window) as backups,
        count(dc2_den) as dc2_backups,
        count(dc2_num) as backups_not_successful

    from backup_records
    group by as_of_date

),

daily_totals as (

    select
        as_of_dates.as_of_date,
        coalesce(daily_backup_counts.backups, 0) as backups,
        coalesce(daily_backup_counts.dc2_backups, 0) as dc2_backups,
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
        dc2_backups as dc2_denominator,
        {{ ratio('backups_not_successful', 'dc2_backups') }} as dc2_value,
        cast(null as bigint) as dc2_sample_size

    from daily_totals

)

select * from leaves
