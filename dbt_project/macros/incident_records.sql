{#- The incident leaves' records, once: which versions a run reads, each incident's state as of D, and every leaf's
    per-record rule. The nightly models (int_incident_versions_in_run, int_incidents_as_of, int_incident_leaves) and
    the drill-down functions (models/drilldown/drilldown_incidents.sql, read by `riskcard explain`) both render these
    macros, so the rule that decides whether an incident counts in a leaf is written here and nowhere else. -#}

{#- CTEs ending in `versions_in_run` (run_scope.sql): incidents started in the window of one of the run's dates (or of
    the one date `as_of`). Deadlines (LG4, LG5, IC2) are measured from an incident's own timestamps: no look-back. -#}
{% macro incident_versions_in_run(relation, as_of=none) -%}
    {{ versions_in_run(relation, 'incident_id', {'started_at': 0}, as_of) }}
{%- endmacro %}

{#- Each incident's state as of each date of `dates` (a relation like as_of_dates()), for the incidents that started
    in that date's window; `versions` carry version_validity's columns. Durations of incidents still open at the end
    of D run to the end of D (outage_end_at). `extra_columns`: more version columns to keep (the drill-down keeps the
    version's identity: updated_at, _ingest_seq, _row_number). -#}
{% macro incident_states(versions, dates, extra_columns=[]) -%}
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
        {%- for column in extra_columns %}
        versions.{{ column }},
        {%- endfor %}
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
{%- endmacro %}

{#- One row per (as_of_date, incident) of `incidents` (rows of incident_states) with every incident leaf's share of it:
    <leaf>_num is the incident's contribution to the leaf's numerator, <leaf>_den to its denominator (1 for a counted
    incident, minutes or microseconds for a summed duration), NULL when it does not count; <leaf>_in_sample is 1 when
    the incident is in a median's sample and <leaf>_sample its value there. The leaves add these up
    (int_incident_leaves); the drill-down lists the rows whose numerator share is not NULL. `vendor_slas`: the
    reference relation of contracted restore times. -#}
{% macro incident_contributions(incidents, vendor_slas) -%}
with

-- the '*' row is the contracted restore time of any vendor not listed
default_vendor_sla as (

    select restore_hours from {{ vendor_slas }} where vendor = '*'

),

incident_facts as (

    select
        incidents.*,
        incidents.recurrence_of is not null as is_recurrence,
        incidents.severity in ('major', 'critical') as is_major,
        not incidents.planned as is_unplanned,
        not incidents.planned and incidents.customer_facing as is_unplanned_customer_facing,
        incidents.cause in ('intrusion', 'ddos', 'malware') as is_security_event,
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

    from {{ incidents }} as incidents
    left join {{ vendor_slas }} as vendor_slas
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
            and hours_start_to_report > {{ guideline_limit('suspension_report_hours') }} as suspension_report_late,
        is_unplanned and vendor is not null as is_unplanned_vendor_incident

    from incident_facts

),

shared_facts as (

    select
        *,
        -- BC5: unplanned customer-facing outages of one system that overlap are down once. In start order, an
        -- outage adds the time it runs past the latest end of those that started before it (its reach); the first
        -- of a run of overlapping outages adds its whole length. Summed, that is the union of the outages.
        max(outage_end_at) over (
            partition by as_of_date, system, is_unplanned_customer_facing
            order by started_at, outage_end_at, incident_id
            rows between unbounded preceding and 1 preceding
        ) as outage_reach_before,
        -- OS2: each vendor's unplanned downtime (per incident, summed)
        sum(downtime_us) over (partition by as_of_date, vendor, is_unplanned_vendor_incident)
            as vendor_downtime_us

    from rule_facts

),

ranked_facts as (

    select
        *,
        -- OS2: the vendor with the most unplanned downtime (of two with as much, the first by name)
        first_value(vendor) over (
            partition by as_of_date, is_unplanned_vendor_incident
            order by vendor_downtime_us desc, vendor
        ) as largest_vendor

    from shared_facts

),

contributions as (

    select
        *,
        -- SP2: major/critical software-defect incidents (a count)
        case when cause = 'software_defect' and is_major then 1 end as sp2_num,
        -- SP3: change-failure incidents (a count)
        case when cause = 'change_failure' then 1 end as sp3_num,
        -- IC1: recurring incidents of all incidents
        case when is_recurrence then 1 end as ic1_num,
        1 as ic1_den,
        -- IC2: major incidents resolved 5+ days ago without a review within 5 days, of those resolved 5+ days ago
        case when is_major and is_review_due and missed_review then 1 end as ic2_num,
        case when is_major and is_review_due then 1 end as ic2_den,
        -- IC4: minutes from start to detection, unplanned incidents (a median)
        case when is_unplanned then 1 end as ic4_in_sample,
        case when is_unplanned then minutes_to_detect end as ic4_sample,
        -- BC1: minutes from detection to resolution (open: to the end of D), security incidents (a median)
        case when is_security_event then 1 end as bc1_in_sample,
        case when is_security_event then minutes_detect_to_restore end as bc1_sample,
        -- BC4: unplanned customer-facing incidents not restored within 20 minutes of detection
        case
            when is_unplanned_customer_facing
                and minutes_detect_to_restore > {{ guideline_limit('restore_minutes') }} then 1
        end as bc4_num,
        case when is_unplanned_customer_facing then 1 end as bc4_den,
        -- BC5: the microseconds of unplanned customer-facing downtime this outage adds to its system's
        case
            when not is_unplanned_customer_facing then null
            when outage_reach_before is null or started_at > outage_reach_before then downtime_us
            else greatest(0, {{ microseconds_between('outage_reach_before', 'outage_end_at') }})
        end as bc5_num_us,
        -- LG4: incidents due at head office escalated more than 20 minutes after detection or not at all
        case when must_escalate and escalated_late then 1 end as lg4_num,
        case when must_escalate then 1 end as lg4_den,
        -- LG5: reportable events not reported in time (an incident late on both counts counts twice)
        case
            when security_report_late or suspension_report_late
                then (case when security_report_late then 1 else 0 end)
                    + (case when suspension_report_late then 1 else 0 end)
        end as lg5_num,
        -- OS1: vendor incidents beyond the vendor's contracted restore time, of vendor incidents
        case when vendor is not null and downtime_minutes > 60 * vendor_restore_hours then 1 end as os1_num,
        case when vendor is not null then 1 end as os1_den,
        -- OS2: the largest vendor's unplanned downtime, of all unplanned vendor downtime (microseconds)
        case when is_unplanned_vendor_incident and vendor = largest_vendor then downtime_us end as os2_num_us,
        case when is_unplanned_vendor_incident then downtime_us end as os2_den_us,
        -- OS3: unplanned vendor downtime (OS2's denominator), of all unplanned downtime (microseconds)
        os2_den_us as os3_num_us,
        case when is_unplanned then downtime_us end as os3_den_us

    from ranked_facts

)

select * from contributions
{%- endmacro %}
