-- The drill-down of the transaction leaves (macros/drilldown.sql): drilldown.transaction_records(D, high water),
-- every transaction version counted for D (its state as of D, made in D's window) with every leaf's share
-- (macros/transaction_records.sql, the rules the leaves add up), drilldown.customer_records(D, high water), CO2's
-- password-only customers, and one drilldown.leaf_<id> per transaction leaf.

{%- set version = drilldown_version_columns() %}

{%- set records %}
with

{{ transaction_versions_in_run(drilldown_log(ref('stg_transactions')), as_of=drilldown_as_of()) }},

counted_versions as (

    {{ transaction_counted_versions('versions_in_run', as_of_from(drilldown_as_of()), as_of_to(drilldown_as_of()),
        ['event_at', 'channel', 'txn_type'] + version) }}

)

select
    {{ as_of_from(drilldown_as_of()) }} as as_of_date,
    *,
    {{ transaction_contributions() }}

from counted_versions
{%- endset %}

{%- set customers %}
{{ password_only_customers(drilldown_schema() ~ '.transaction_records(' ~ drilldown_parameters() ~ ')') }}
{%- endset %}

{{ drilldown_function('transaction_records', records) }}

{{ drilldown_function('customer_records', customers) }}

{{ leaf_drilldown('SP1', 'transaction_records', 'txn_id', 'event_at',
    ['customer_id', 'amount', 'status', 'auth_method'] + version, 'sp1_num',
    'transactions made in the window, in their state as of D, successful, of 5,000 CNY or more, authorised by a '
    ~ 'password only; contribution: 1 each') }}

{{ leaf_drilldown('SP4', 'transaction_records', 'txn_id', 'event_at',
    ['customer_id', 'new_device', 'auth_method', 'status'] + version, 'sp4_num',
    'transactions made in the window from a new device, authorised by a password only; contribution: 1 each') }}

{{ leaf_drilldown('IC3', 'transaction_records', 'txn_id', 'event_at',
    ['customer_id', 'status', 'failure_reason', 'channel'] + version, 'ic3_num',
    'transactions made in the window that failed for operator_error; contribution: 1 each (the numerator; the '
    ~ 'denominator is every transaction of the window)') }}

{{ leaf_drilldown('BC2', 'transaction_records', 'txn_id', 'event_at',
    ['customer_id', 'amount', 'fraud_confirmed', 'risk_flag', 'status'] + version, 'bc2_num',
    'transactions made in the window confirmed fraudulent as of D that the risk engine did not flag; contribution: '
    ~ 'the amount in CNY; their sum is the numerator') }}

{{ leaf_drilldown('CO3', 'transaction_records', 'txn_id', 'event_at',
    ['customer_id', 'amount', 'fraud_confirmed', 'status'] + version, 'co3_num',
    'transactions made in the window confirmed fraudulent as of D; contribution: the amount in CNY; their sum is '
    ~ 'the numerator') }}

{{ leaf_drilldown('CO2', 'customer_records', 'customer_id', 'last_event_at',
    ['first_event_at', 'transactions'], 'co2_num',
    'active customers (a transaction in the window) none of whose transactions in the window used a factor '
    ~ 'stronger than a password (customer_id is the keyed hash); contribution: 1 each') }}
