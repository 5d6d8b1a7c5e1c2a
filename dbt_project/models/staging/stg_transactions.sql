-- Every version of every transaction, typed, with its local event day.

with

source as (

    select * from {{ source('raw', 'transactions') }}

),

versions as (

    select
        txn_id,
        updated_at,
        event_at,
        {{ local_date('event_at') }} as event_date,
        customer_id,
        channel,
        txn_type,
        amount,
        status,
        failure_reason,
        auth_method,
        new_device,
        risk_flag,
        fraud_confirmed,
        _ingest_seq,
        _row_number

    from source

)

select * from versions
