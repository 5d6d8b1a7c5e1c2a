-- The drill-down of the complaint leaves (macros/drilldown.sql): drilldown.complaint_records(D, high water), every
-- complaint D can see in its state as of D with every leaf's share (macros/complaint_records.sql, the rules the
-- leaves add up), and one drilldown.leaf_<id> per complaint leaf.

{%- set records %}
with

{{ complaint_versions_in_run(drilldown_log(ref('stg_complaints')), as_of=drilldown_as_of()) }},

fraud_states as (

    {{ fraud_transaction_states('versions_in_run', drilldown_log(ref('int_fraud_transaction_versions')),
        as_of=drilldown_as_of()) }}

),

complaint_states as (

    {{ complaint_states('versions_in_run', as_of_dates(drilldown_as_of()), drilldown_version_columns()) }}

),

complaint_contributions as (

    {{ complaint_contributions('complaint_states', 'fraud_states') }}

)

select * from complaint_contributions
{%- endset %}

{%- set version = drilldown_version_columns() %}

{{ drilldown_function('complaint_records', records) }}

{{ leaf_drilldown('RP1', 'complaint_records', 'complaint_id', 'opened_at',
    ['customer_id', 'category', 'channel', 'resolution'] + version, 'rp1_num',
    'complaints opened in the window, in their state as of D; contribution: 1 each (the numerator; the '
    ~ 'denominator is the active customers, from the transactions)') }}

{{ leaf_drilldown('RP2', 'complaint_records', 'complaint_id', 'opened_at',
    ['customer_id', 'category', 'channel'] + version, 'rp2_num',
    'complaints opened in the window that came through the regulator or the media; contribution: 1 each') }}

{{ leaf_drilldown('RP3', 'complaint_records', 'complaint_id', 'opened_at',
    ['customer_id', 'category', 'response_deadline_at', 'closed_at', 'resolution'] + version, 'rp3_num',
    'complaints whose 15-day deadline (opened_at + 15 days) falls in the window and that were not closed by it; '
    ~ 'contribution: 1 each') }}

{{ leaf_drilldown('RP4', 'complaint_records', 'complaint_id', 'opened_at',
    ['customer_id', 'category', 'first_response_at'] + version, 'rp4_sample',
    'the sample: complaints opened in the window; contribution: hours from opened_at to first_response_at '
    ~ '(unanswered: to the end of D; the value is their 90th percentile)', counts='rp4_in_sample') }}

{{ leaf_drilldown('LG1', 'complaint_records', 'complaint_id', 'opened_at',
    ['customer_id', 'category', 'dispute_deadline_at', 'closed_at', 'resolution'] + version, 'lg1_num',
    'disputes (unauthorized_txn, fee_dispute) whose 30-day deadline falls in the window and that were not closed '
    ~ 'by it; contribution: 1 each') }}

{{ leaf_drilldown('LG2', 'complaint_records', 'complaint_id', 'opened_at',
    ['customer_id', 'txn_id', 'closed_at', 'resolution', 'claimed_amount', 'compensated_amount'] + version,
    'lg2_num',
    'closed unauthorized_txn complaints opened in the window whose transaction (from any window) is confirmed '
    ~ 'fraud as of D; contribution: claimed_amount - compensated_amount in CNY (a null amount counts as 0); their '
    ~ 'sum is the numerator') }}

{{ leaf_drilldown('LG3', 'complaint_records', 'complaint_id', 'opened_at',
    ['customer_id', 'category', 'closed_at', 'resolution'] + version, 'lg3_num',
    'closed disputes opened in the window (litigation counts as closed) with resolution litigation; contribution: '
    ~ '1 each') }}

{{ leaf_drilldown('CO1', 'complaint_records', 'complaint_id', 'opened_at',
    ['customer_id', 'category', 'channel'] + version, 'co1_num',
    'privacy_leak complaints opened in the window; contribution: 1 each (the numerator; the denominator is the '
    ~ 'active customers, from the transactions)') }}
