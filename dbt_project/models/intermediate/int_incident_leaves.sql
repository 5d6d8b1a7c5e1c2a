-- Incident leaves per as-of date: SP2, SP3, IC1, IC2, IC4, BC1, BC4, BC5, LG4, LG5, OS1, OS2, OS3.

with

incidents as (

    select * from {{ ref('int_incidents_as_of') }}

),

vendor_slas as (

    select * from {{ ref('vendor_slas') }}

),

systems as (

    select * from {{ ref('systems') }}

),

as_of_dates as {{ as_of_dates() }},

-- the '*' row is the contracted restore time of any vendor not listed
default_vendor_sla as (

    select restore_hours from vendor_slas where vendor = '*'

),

incident_facts as (

    select
        incidents.as_of_date,
        incidents.window_start,
        incidents.window_end,
        incidents.incident_id,
        incidents.system,
        incidents.vendor,
        incidents.cause,
        incidents.started_at,
        incidents.outage_end_at,
        incidents.recurrence_of is not null as is_recurrence,
        incidents.severity in ('major', 'critical') as is_major,
        not incidents.planned as is_unplanned,
        not incidents.planned and incidents.customer_facing as is_unplanned_customer_facing,
        incidents.cause in ('intrusion', 'ddos', 'malware') as is_security_event,
        incidents.loss_event,
        {{ minutes_between('incidents.started_at', 'incidents.detected_at') }} as minutes_to_detect,
        {{ minutes_between('incidents.detected_at', 'incidents.outage_end_at') }} as minutes_detect_to_restore,
        {{ minutes_between('incidents.started_at', 'incidents.outage_end_at') }} as downtime_minutes,
        {{ microseconds_between('incidents.started_at', 'incidents.outage_end_at') }} as downtime_us,
        -- IC2: resolved at least 5 days before the end of D, reviewed within 5 days of the resolution or not
        incidents.resolved_at <= incidents.window_end - interval {{ guideline_limit('review_days') }} day
            as is_review_due,
        incidents.review_completed_at is null
            or incidents.review_completed_at > incidents.resolved_at + interval {{ guideline_limit('review_days') }} day
            as missed_review,
        -- LG4: escalated more than 20 minutes after detection, or not at all
        incidents.escalated_at is null
            or {{ minutes_between('incidents.detected_at', 'incidents.escalated_at') }}
                > {{ guideline_limit('escalation_minutes') }} as escalated_late,
        -- LG5: a report not made by the end of D counts as made then (late only once its deadline has passed)
        {{ hours_between('incidents.detected_at',
            'least(coalesce(incidents.regulator_reported_at, incidents.window_end), incidents.window_end)') }}
            as hours_detect_to_report,
        {{ hours_between('incidents.started_at',
            'least(coalesce(incidents.regulator_reported_at, incidents.window_end), incidents.window_end)') }}
            as hours_start_to_report,
        {{ in_working_hours('incidents.started_at_local') }} as started_in_working_hours,
        coalesce(vendor_slas.restore_hours, (select restore_hours from default_vendor_sla)) as vendor_restore_hours

    from incidents
    left join vendor_slas
        on vendor_slas.vendor = incidents.vendor

),

rule_facts as (

    select
        *,
        -- the guideline's time limits are the var guideline_limits (dbt_project.yml, macros/guideline_limits.sql)
        is_major
            or (is_unplanned_customer_facing and minutes_detect_to_restore > {{ guideline_limit('restore_minutes') }})
            as must_escalate,
        loss_event and is_security_event and hours_detect_to_report > {{ guideline_limit('security_report_hours') }}
            as security_report_late,
        is_unplanned_customer_facing
            and downtime_minutes > 60 * case
                when started_in_working_hours then {{ guideline_limit('suspension_hours_in_working_hours') }}
                else {{ guideline_limit('suspension_hours_outside_working_hours') }}
            end
            and hours_start_to_report > {{ guideline_limit('suspension_report_hours') }} as suspension_report_late

    from incident_facts

),

daily_counts as (

    select
        as_of_date,
        count(*) as incidents,
        count(*) filter (where cause = 'software_defect' and is_major) as major_software_defects,
        count(*) filter (where cause = 'change_failure') as change_failures,
        count(*) filter (where is_recurrence) as recurrences,
        count(*) filter (where is_major and is_review_due) as reviews_due,
        count(*) filter (where is_major and is_review_due and missed_review) as reviews_missed,
        median(minutes_to_detect) filter (where is_unplanned) as median_minutes_to_detect,
        count(*) filter (where is_unplanned) as unplanned,
        median(minutes_detect_to_restore) filter (where is_security_event) as median_minutes_security_restore,
        count(*) filter (where is_security_event) as security_events,
        count(*) filter (where is_unplanned_customer_facing) as customer_facing_outages,
        count(*) filter (
            where is_unplanned_customer_facing and minutes_detect_to_restore > {{ guideline_limit('restore_minutes') }}
        ) as outages_over_20_minutes,
        count(*) filter (where must_escalate) as must_escalate,
        count(*) filter (where must_escalate and escalated_late) as escalated_late,
        count(*) filter (where security_report_late) + count(*) filter (where suspension_report_late)
            as reports_late,
        count(*) filter (where vendor is not null) as vendor_incidents,
        count(*) filter (
            where vendor is not null and downtime_minutes > 60 * vendor_restore_hours
        ) as vendor_incidents_over_sla,
        coalesce(sum(downtime_us) filter (where is_unplanned and vendor is not null), 0)
            as unplanned_vendor_downtime_us,
        coalesce(sum(downtime_us) filter (where is_unplanned), 0) as unplanned_downtime_us

    from rule_facts
    group by as_of_date

),

-- BC5: unplanned customer-facing outages of one system that overlap are down once
outages as (

    select as_of_date, system, started_at, outage_end_at
    from rule_facts
    where is_unplanned_customer_facing

),

outages_with_reach as (

    select
        *,
        max(outage_end_at) over (
            partition by as_of_date, system
            order by started_at, outage_end_at
            rows between unbounded preceding and 1 preceding
        ) as reach_before

    from outages

),

outage_islands_numbered as (

    select
        *,
        sum(case when reach_before is null or started_at > reach_before then 1 else 0 end) over (
            partition by as_of_date, system
            order by started_at, outage_end_at
            rows between unbounded preceding and current row
        ) as island

    from outages_with_reach

),

outage_islands as (

    select as_of_date, system, min(started_at) as down_from, max(outage_end_at) as down_to
    from outage_islands_numbered
    group by as_of_date, system, island

),

daily_downtime as (

    select as_of_date, sum({{ microseconds_between('down_from', 'down_to') }}) as downtime_us
    from outage_islands
    group by as_of_date

),

-- OS2: unplanned vendor downtime by vendor (per incident, summed)
vendor_downtime as (

    select as_of_date, vendor, sum(downtime_us) as downtime_us
    from rule_facts
    where is_unplanned and vendor is not null
    group by as_of_date, vendor

),

daily_largest_vendor as (

    select as_of_date, max(downtime_us) as largest_vendor_downtime_us
    from vendor_downtime
    group by as_of_date

),

daily_totals as (

    select
        as_of_dates.as_of_date,
        coalesce(daily_counts.incidents, 0) as incidents,
        coalesce(daily_counts.major_software_defects, 0) as major_software_defects,
        coalesce(daily_counts.change_failures, 0) as change_failures,
        coalesce(daily_counts.recurrences, 0) as recurrences,
        coalesce(daily_counts.reviews_due, 0) as reviews_due,
        coalesce(daily_counts.reviews_missed, 0) as reviews_missed,
        daily_counts.median_minutes_to_detect,
        coalesce(daily_counts.unplanned, 0) as unplanned,
        daily_counts.median_minutes_security_restore,
        coalesce(daily_counts.security_events, 0) as security_events,
        coalesce(daily_counts.customer_facing_outages, 0) as customer_facing_outages,
        coalesce(daily_counts.outages_over_20_minutes, 0) as outages_over_20_minutes,
        {{ microseconds_to_minutes('coalesce(daily_downtime.downtime_us, 0)') }} as customer_facing_downtime_minutes,
        {{ minutes_between('as_of_dates.window_start', 'as_of_dates.window_end') }}
            * (select count(*) from systems) as system_minutes,
        coalesce(daily_counts.must_escalate, 0) as must_escalate,
        coalesce(daily_counts.escalated_late, 0) as escalated_late,
        coalesce(daily_counts.reports_late, 0) as reports_late,
        coalesce(daily_counts.vendor_incidents, 0) as vendor_incidents,
        coalesce(daily_counts.vendor_incidents_over_sla, 0) as vendor_incidents_over_sla,
        {{ microseconds_to_minutes('coalesce(daily_largest_vendor.largest_vendor_downtime_us, 0)') }}
            as largest_vendor_downtime_minutes,
        {{ microseconds_to_minutes('coalesce(daily_counts.unplanned_vendor_downtime_us, 0)') }}
            as unplanned_vendor_downtime_minutes,
        {{ microseconds_to_minutes('coalesce(daily_counts.unplanned_downtime_us, 0)') }} as unplanned_downtime_minutes

    from as_of_dates
    left join daily_counts
        on daily_counts.as_of_date = as_of_dates.as_of_date
    left join daily_downtime
        on daily_downtime.as_of_date = as_of_dates.as_of_date
    left join daily_largest_vendor
        on daily_largest_vendor.as_of_date = as_of_dates.as_of_date

),

leaves as (

    select
        as_of_date,
        incidents as incident_records,

        -- SP2: major/critical software-defect incidents (a count)
        major_software_defects as sp2_numerator,
        cast(null as double) as sp2_denominator,
        cast(major_software_defects as double) as sp2_value,
        cast(null as bigint) as sp2_sample_size,

        -- SP3: change-failure incidents (a count)
        change_failures as sp3_numerator,
        cast(null as double) as sp3_denominator,
        cast(change_failures as double) as sp3_value,
        cast(null as bigint) as sp3_sample_size,

        -- IC1: recurring incidents, %
        recurrences as ic1_numerator,
        incidents as ic1_denominator,
        {{ ratio('recurrences', 'incidents') }} as ic1_value,
        cast(null as bigint) as ic1_sample_size,

        -- IC2: major incidents resolved 5+ days ago without a review within 5 days, %
        reviews_missed as ic2_numerator,
        reviews_due as ic2_denominator,
        {{ ratio('reviews_missed', 'reviews_due') }} as ic2_value,
        cast(null as bigint) as ic2_sample_size,

        -- IC4: median minutes from start to detection, unplanned incidents
        cast(null as double) as ic4_numerator,
        cast(null as double) as ic4_denominator,
        median_minutes_to_detect as ic4_value,
        unplanned as ic4_sample_size,

        -- BC1: median minutes from detection to resolution, security incidents
        cast(null as double) as bc1_numerator,
        cast(null as double) as bc1_denominator,
        median_minutes_security_restore as bc1_value,
        security_events as bc1_sample_size,

        -- BC4: unplanned customer-facing incidents not restored within 20 minutes of detection, %
        outages_over_20_minutes as bc4_numerator,
        customer_facing_outages as bc4_denominator,
        {{ ratio('outages_over_20_minutes', 'customer_facing_outages') }} as bc4_value,
        cast(null as bigint) as bc4_sample_size,

        -- BC5: unplanned customer-facing downtime (overlaps once per system), % of window minutes x systems
        customer_facing_downtime_minutes as bc5_numerator,
        system_minutes as bc5_denominator,
        {{ ratio('customer_facing_downtime_minutes', 'system_minutes') }} as bc5_value,
        cast(null as bigint) as bc5_sample_size,

        -- LG4: incidents due at head office escalated more than 20 minutes after detection or not at all, %
        escalated_late as lg4_numerator,
        must_escalate as lg4_denominator,
        {{ ratio('escalated_late', 'must_escalate') }} as lg4_value,
        cast(null as bigint) as lg4_sample_size,

        -- LG5: reportable events not reported to the regulator in time (a count)
        reports_late as lg5_numerator,
        cast(null as double) as lg5_denominator,
        cast(reports_late as double) as lg5_value,
        cast(null as bigint) as lg5_sample_size,

        -- OS1: vendor incidents beyond the vendor's contracted restore time, %
        vendor_incidents_over_sla as os1_numerator,
        vendor_incidents as os1_denominator,
        {{ ratio('vendor_incidents_over_sla', 'vendor_incidents') }} as os1_value,
        cast(null as bigint) as os1_sample_size,

        -- OS2: the largest vendor's share of unplanned vendor downtime, %
        largest_vendor_downtime_minutes as os2_numerator,
        unplanned_vendor_downtime_minutes as os2_denominator,
        {{ ratio('largest_vendor_downtime_minutes', 'unplanned_vendor_downtime_minutes') }} as os2_value,
        cast(null as bigint) as os2_sample_size,

        -- OS3: vendor share of unplanned downtime, %
        unplanned_vendor_downtime_minutes as os3_numerator,
        unplanned_downtime_minutes as os3_denominator,
        {{ ratio('unplanned_vendor_downtime_minutes', 'unplanned_downtime_minutes') }} as os3_value,
        cast(null as bigint) as os3_sample_size

    from daily_totals

)

select * from leaves
