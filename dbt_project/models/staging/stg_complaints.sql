-- Every version of every complaint, typed, with its local opening day.

with

source as (

    select * from {{ source('raw', 'complaints') }}

),

versions as (

    select
        complaint_id,
        updated_at,
        opened_at,
        {{ local_date('opened_at') }} as opened_date,
        customer_id,
        category,
        channel,
        txn_id,
        first_response_at,
        closed_at,
        resolution,
        claimed_amount,
        compensated_amount,
        _ingest_seq,
        _row_number

    from source

)

select * from versions
