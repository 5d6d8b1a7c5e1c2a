-- Every version of every backup run, typed, with its local schedule and finish days.

with

source as (

    select * from {{ source('raw', 'backups') }}

),

versions as (

    select
        backup_id,
        updated_at,
        system,
        backup_type,
        scheduled_at,
        {{ local_date('scheduled_at') }} as scheduled_date,
        started_at,
        finished_at,
        {{ local_date('finished_at') }} as finished_date,
        status,
        size_bytes,
        offsite_copy,
        restore_tested,
        restore_ok,
        _ingest_seq,
        _row_number

    from source

)

select * from versions
