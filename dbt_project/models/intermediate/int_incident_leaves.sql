-- Incident leaves per as-of date: SP2, SP3, IC1, IC2, IC4, BC1, BC4, BC5, LG4, LG5, OS1, OS2, OS3, as the sums of
-- their incidents' shares (macros/incident_records.sql).

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

-- every incident's share of every leaf: macros/incident_records.sql, the rules' one place (the drill-down of
-- `riskcard explain` lists the same rows)
contributions as (

    {{ incident_contributions('incidents', 'vendor_slas') }}

),

daily_counts as (

    select
        as_of_date,
        count(*) as incidents,
        count(sp2_num) as major_software_defects,
        count(sp3_num) as change_failures,
        count(ic1_num) as recurrences,
        count(ic1_den) as ic1_incidents,
        count(ic2_den) as reviews_due,
        count(ic2_num) as reviews_missed,
        median(ic4_sample) as median_minutes_to_detect,
        count(ic4_in_sample) as unplanned,
        median(bc1_sample) as median_minutes_security_restore,
        count(bc1_in_sample) as security_events,
        count(bc4_den) as customer_facing_outages,
        count(bc4_num) as outages_over_20_minutes,
        coalesce(sum(bc5_num_us), 0) as customer_facing_downtime_us,
        count(lg4_den) as must_escalate,
        count(lg4_num) as escalated_late,
        cast(coalesce(sum(lg5_num), 0) as bigint) as reports_late,
        count(os1_den) as vendor_incidents,
        count(os1_num) as vendor_incidents_over_sla,
        coalesce(sum(os2_num_us), 0) as largest_vendor_downtime_us,
        coalesce(sum(os2_den_us), 0) as os2_vendor_downtime_us,
        coalesce(sum(os3_num_us), 0) as unplanned_vendor_downtime_us,
        coalesce(sum(os3_den_us), 0) as unplanned_downtime_us

    from contributions
    group by as_of_date

),

daily_totals as (

    select
        as_of_dates.as_of_date,
        coalesce(daily_counts.incidents, 0) as incidents,
        coalesce(daily_counts.major_software_defects, 0) as major_software_defects,
        coalesce(daily_counts.change_failures, 0) as change_failures,
        coalesce(daily_counts.recurrences, 0) as recurrences,
        coalesce(daily_counts.ic1_incidents, 0) as ic1_incidents,
        coalesce(daily_counts.reviews_due, 0) as reviews_due,
        coalesce(daily_counts.reviews_missed, 0) as reviews_missed,
        daily_counts.median_minutes_to_detect,
        coalesce(daily_counts.unplanned, 0) as unplanned,
        daily_counts.median_minutes_security_restore,
        coalesce(daily_counts.security_events, 0) as security_events,
        coalesce(daily_counts.customer_facing_outages, 0) as customer_facing_outages,
        coalesce(daily_counts.outages_over_20_minutes, 0) as outages_over_20_minutes,
        {{ microseconds_to_minutes('coalesce(daily_counts.customer_facing_downtime_us, 0)') }}
            as customer_facing_downtime_minutes,
        {{ minutes_between('as_of_dates.window_start', 'as_of_dates.window_end') }}
            * (select count(*) from systems) as system_minutes,
        coalesce(daily_counts.must_escalate, 0) as must_escalate,
        coalesce(daily_counts.escalated_late, 0) as escalated_late,
        coalesce(daily_counts.reports_late, 0) as reports_late,
        coalesce(daily_counts.vendor_incidents, 0) as vendor_incidents,
        coalesce(daily_counts.vendor_incidents_over_sla, 0) as vendor_incidents_over_sla,
        {{ microseconds_to_minutes('coalesce(daily_counts.largest_vendor_downtime_us, 0)') }}
            as largest_vendor_downtime_minutes,
        {{ microseconds_to_minutes('coalesce(daily_counts.os2_vendor_downtime_us, 0)') }}
            as os2_vendor_downtime_minutes,
        {{ microseconds_to_minutes('coalesce(daily_counts.unplanned_vendor_downtime_us, 0)') }}
            as unplanned_vendor_downtime_minutes,
        {{ microseconds_to_minutes('coalesce(daily_counts.unplanned_downtime_us, 0)') }} as unplanned_downtime_minutes

    from as_of_dates
    left join daily_counts
        on daily_counts.as_of_date = as_of_dates.as_of_date

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
        ic1_incidents as ic1_denominator,
        {{ ratio('recurrences', 'ic1_incidents') }} as ic1_value,
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
        os2_vendor_downtime_minutes as os2_denominator,
        {{ ratio('largest_vendor_downtime_minutes', 'os2_vendor_downtime_minutes') }} as os2_value,
        cast(null as bigint) as os2_sample_size,

        -- OS3: vendor share of unplanned downtime, %
        unplanned_vendor_downtime_minutes as os3_numerator,
        unplanned_downtime_minutes as os3_denominator,
        {{ ratio('unplanned_vendor_downtime_minutes', 'unplanned_downtime_minutes') }} as os3_value,
        cast(null as bigint) as os3_sample_size

    from daily_totals

)

select * from leaves
