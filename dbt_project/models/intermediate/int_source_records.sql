-- How many records each source has in each as-of date's window (entities in their state as of D whose own
-- timestamp falls in the window). A leaf reading a source with none is `no_data`, never low risk.

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

source_records as (

    select as_of_date, 'transactions' as source, transaction_records as records_in_window
    from transaction_leaves
    union all
    select as_of_date, 'complaints' as source, complaint_records as records_in_window
    from complaint_leaves
    union all
    select as_of_date, 'incidents' as source, incident_records as records_in_window
    from incident_leaves
    union all
    select as_of_date, 'backups' as source, backup_records as records_in_window
    from backup_leaves

)

select * from source_records
