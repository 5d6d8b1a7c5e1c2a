-- The 30 leaves in one long table: one row per (as_of_date, indicator_id) with value, numerator, denominator and
-- sample size as the family models computed them (no status or level yet).

with

transaction_leaves as (

    select * from {{ ref('int_transaction_leaves') }}

),

complaint_leaves as (

    select * from {{ ref('int_complaint_leaves') }}

),

incident_leaves as (

    select * from {{ ref('int_incident_leaves') }}

),

backup_leaves as (

    select * from {{ ref('int_backup_leaves') }}

),

leaf_values as (

    {{ leaf_rows('transaction_leaves', ['SP1', 'SP4', 'IC3', 'BC2', 'CO2', 'CO3']) }}
    union all
    {{ leaf_rows('complaint_leaves', ['RP1', 'RP2', 'RP3', 'RP4', 'LG1', 'LG2', 'LG3', 'CO1']) }}
    union all
    {{ leaf_rows('incident_leaves', [
        'SP2', 'SP3', 'IC1', 'IC2', 'IC4', 'BC1', 'BC4', 'BC5', 'LG4', 'LG5', 'OS1', 'OS2', 'OS3'
    ]) }}
    union all
    {{ leaf_rows('backup_leaves', ['BC3', 'DC1', 'DC2']) }}

)

select * from leaf_values
