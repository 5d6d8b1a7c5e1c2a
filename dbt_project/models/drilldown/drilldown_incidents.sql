-- The drill-down of the incident leaves (macros/drilldown.sql): drilldown.incident_records(D, high water), every
-- incident started in D's window in its state as of D with every leaf's share (macros/incident_records.sql, the
-- rules the leaves add up), and one drilldown.leaf_<id> per incident leaf.

{%- set records %}
with

{{ incident_versions_in_run(drilldown_log(ref('stg_incidents')), as_of=drilldown_as_of()) }},

incident_states as (

    {{ incident_states('versions_in_run', as_of_dates(drilldown_as_of()), drilldown_version_columns()) }}

),

vendor_slas as (

    select * from {{ ref('vendor_slas') }}

),

incident_contributions as (

    {{ incident_contributions('incident_states', 'vendor_slas') }}

)

select * from incident_contributions
{%- endset %}

{%- set version = drilldown_version_columns() %}

{{ drilldown_function('incident_records', records) }}

{{ leaf_drilldown('SP2', 'incident_records', 'incident_id', 'started_at',
    ['system', 'cause', 'severity', 'detected_at', 'resolved_at'] + version, 'sp2_num',
    'incidents started in the window, in their state as of D, caused by a software defect with severity major or '
    ~ 'critical; contribution: 1 each (the count)') }}

{{ leaf_drilldown('SP3', 'incident_records', 'incident_id', 'started_at',
    ['system', 'cause', 'severity', 'detected_at', 'resolved_at'] + version, 'sp3_num',
    'incidents started in the window, in their state as of D, caused by a failed change; contribution: 1 each '
    ~ '(the count)') }}

{{ leaf_drilldown('IC1', 'incident_records', 'incident_id', 'started_at',
    ['system', 'cause', 'recurrence_of', 'severity'] + version, 'ic1_num',
    'incidents started in the window that repeat an earlier root cause (recurrence_of set); contribution: 1 each '
    ~ '(the numerator; the denominator is every incident of the window)') }}

{{ leaf_drilldown('IC2', 'incident_records', 'incident_id', 'started_at',
    ['system', 'severity', 'resolved_at', 'review_completed_at'] + version, 'ic2_num',
    'major/critical incidents resolved at least 5 days before the end of D without a root-cause review within 5 '
    ~ 'days of the resolution; contribution: 1 each') }}

{{ leaf_drilldown('IC4', 'incident_records', 'incident_id', 'started_at',
    ['system', 'cause', 'planned', 'detected_at'] + version, 'ic4_sample',
    'the sample: unplanned incidents started in the window; contribution: minutes from started_at to detected_at '
    ~ '(the value is their median)', counts='ic4_in_sample') }}

{{ leaf_drilldown('BC1', 'incident_records', 'incident_id', 'started_at',
    ['system', 'cause', 'detected_at', 'resolved_at', 'outage_end_at'] + version, 'bc1_sample',
    'the sample: security incidents (intrusion, ddos, malware) started in the window; contribution: minutes from '
    ~ 'detected_at to resolved_at, or to the end of D while open (outage_end_at; the value is their median)',
    counts='bc1_in_sample') }}

{{ leaf_drilldown('BC4', 'incident_records', 'incident_id', 'started_at',
    ['system', 'detected_at', 'resolved_at', 'outage_end_at', 'minutes_detect_to_restore'] + version, 'bc4_num',
    'unplanned customer-facing incidents not restored within 20 minutes of detection (open ones measured to the '
    ~ 'end of D); contribution: 1 each') }}

{{ leaf_drilldown('BC5', 'incident_records', 'incident_id', 'started_at',
    ['system', 'outage_end_at', 'downtime_minutes', 'outage_reach_before'] + version,
    microseconds_to_minutes('bc5_num_us'),
    'unplanned customer-facing outages started in the window; contribution: the minutes of downtime each adds to '
    ~ 'its system (started_at to outage_end_at, less the part an earlier-starting outage of the same system already '
    ~ 'covers, up to outage_reach_before), so overlaps count once; their sum is the numerator',
    counts='bc5_num_us') }}

{{ leaf_drilldown('LG4', 'incident_records', 'incident_id', 'started_at',
    ['system', 'severity', 'customer_facing', 'detected_at', 'escalated_at', 'outage_end_at'] + version, 'lg4_num',
    'incidents that must go to head office (major/critical, or unplanned customer-facing and not restored 20 '
    ~ 'minutes after detection) escalated more than 20 minutes after detection or not at all; contribution: 1 each') }}

{{ leaf_drilldown('LG5', 'incident_records', 'incident_id', 'started_at',
    ['system', 'cause', 'loss_event', 'customer_facing', 'detected_at', 'regulator_reported_at', 'outage_end_at',
     'security_report_late', 'suspension_report_late'] + version, 'lg5_num',
    'reportable events not reported to the regulator in time: security loss events not reported within 48 h of '
    ~ 'detection, suspensions over 4 h (working hours) / 8 h not reported within 24 h of the start; contribution: '
    ~ 'the number of late reports (2 when an incident is late on both counts)') }}

{{ leaf_drilldown('OS1', 'incident_records', 'incident_id', 'started_at',
    ['system', 'vendor', 'outage_end_at', 'downtime_minutes', 'vendor_restore_hours'] + version, 'os1_num',
    "incidents with a vendor whose started_at to outage_end_at exceeds the vendor's contracted restore time; "
    ~ 'contribution: 1 each') }}

{{ leaf_drilldown('OS2', 'incident_records', 'incident_id', 'started_at',
    ['system', 'vendor', 'outage_end_at'] + version, microseconds_to_minutes('os2_num_us'),
    'the unplanned incidents of the vendor with the most unplanned downtime (of two with as much, the first by '
    ~ 'name); contribution: downtime minutes, started_at to outage_end_at; their sum is the numerator',
    counts='os2_num_us') }}

{{ leaf_drilldown('OS3', 'incident_records', 'incident_id', 'started_at',
    ['system', 'vendor', 'outage_end_at'] + version, microseconds_to_minutes('os3_num_us'),
    'unplanned incidents with a vendor; contribution: downtime minutes, started_at to outage_end_at (open: to the '
    ~ 'end of D); their sum is the numerator', counts='os3_num_us') }}
