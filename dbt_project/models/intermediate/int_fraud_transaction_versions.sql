{{
    config(
        materialized='incremental',
        unique_key=['txn_id', '_ingest_seq', '_row_number'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook=[
            "create table if not exists {{ this.schema }}.index_high_water (
                index_name varchar primary key,
                ingest_seq bigint not null,
                recorded_at timestamptz not null
            )"
        ],
        post_hook=[
            "insert or replace into {{ this.schema }}.index_high_water
             {% if is_incremental() %}
             select '{{ this.identifier }}', coalesce(max(_ingest_seq), {{ high_water_of(this) }}), now()
             from {{ source('raw', 'transactions') }}
             where _ingest_seq > {{ high_water_of(this) }}
             {% else %}
             select '{{ this.identifier }}', coalesce(max(_ingest_seq), -1), now()
             from {{ source('raw', 'transactions') }}
             {% endif %}"
        ]
    )
}}

-- The index of confirmed fraud, the one transaction fact that reaches outside every window: LG2 asks whether a
-- complaint's transaction, made at any time, is confirmed fraud as of D. For every transaction with a
-- fraud_confirmed version, its versions from the earliest fraud_confirmed one on (an earlier version can only be
-- a not-yet-confirmed state). A fraction of a percent of the log.
--
-- Incremental on the ingestion order: a run reads the raw rows ingested since the last one (index_high_water holds
-- the highest _ingest_seq read), adds the new versions of indexed transactions and of newly confirmed ones, and the
-- earlier-ingested versions of a newly confirmed transaction that are newer than its confirmation (files can land
-- out of order). --full-refresh rebuilds it from the whole log.

-- The raw log is named in each CTE that reads it rather than once in a CTE of its own: DuckDB would materialise a CTE
-- read twice, the whole log, before the filters below could skip most of it. The filters compare with scalar
-- subqueries (the high water, the earliest new confirmation), which DuckDB pushes into the scan.

{% set version_columns = 'txn_id, updated_at, _ingest_seq, _row_number, fraud_confirmed' %}

with

new_versions as not materialized (  -- twice read, never held: the whole log on a full refresh

    select {{ version_columns }}
    from {{ ref('stg_transactions') }}
    {% if is_incremental() %}
    where _ingest_seq > {{ high_water_of(this) }}
    {% endif %}

),

new_first_confirmations as (

    select txn_id, min(updated_at) as first_confirmed_at
    from new_versions
    where fraud_confirmed
    group by txn_id

),

first_confirmations as (

    select txn_id, min(first_confirmed_at) as first_confirmed_at
    from (
        select * from new_first_confirmations
        {% if is_incremental() %}
        union all
        select txn_id, min(updated_at) as first_confirmed_at
        from {{ this }}
        where fraud_confirmed
        group by txn_id
        {% endif %}
    ) as confirmations
    group by txn_id

),

candidate_versions as (

    select * from new_versions
    where txn_id in (select txn_id from first_confirmations)

    {% if is_incremental() %}
    union all

    -- versions ingested earlier than a new confirmation but possibly newer than it (re-inserting one already in the
    -- index is harmless: delete+insert on the version key)
    select {{ version_columns }}
    from {{ ref('stg_transactions') }}
    where _ingest_seq <= {{ high_water_of(this) }}
        -- no new confirmation: an infinite bound, so that the scan skips every row group (NULL would skip none)
        and updated_at >= coalesce(
            (select min(first_confirmed_at) from new_first_confirmations), 'infinity'::timestamptz
        )
        and txn_id in (select txn_id from new_first_confirmations)
    {% endif %}

),

indexed_versions as (

    select candidate_versions.*
    from candidate_versions
    inner join first_confirmations
        on first_confirmations.txn_id = candidate_versions.txn_id
    where candidate_versions.updated_at >= first_confirmations.first_confirmed_at

)

select * from indexed_versions
