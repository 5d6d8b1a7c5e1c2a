-- Every version of every incident, typed, with its local start (working hours are judged on it).

with

source as (

    select * from {{ source('raw', 'incidents') }}

),

versions as (

    select
        incident_id,
        updated_at,
        system,
        customer_facing,
        planned,
        cause,
        vendor,
        severity,
        started_at,
        {{ local_timestamp('started_at') }} as started_at_local,
        {{ local_date('started_at') }} as started_date,
        detected_at,
        escalated_at,
        resolved_at,
        regulator_reported_at,
        loss_event,
        review_completed_at,
        recurrence_of,
        _ingest_seq,
        _row_number

    from source

)

select * from versions
