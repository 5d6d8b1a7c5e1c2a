{{
    config(
        materialized='incremental',
        unique_key=['as_of_date', 'indicator_id'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns'
    )
}}

-- PROVISIONAL leaf indicators of today as of a cut (`riskcard monitor`, transforms/monitoring/provisional.py): the
-- nightly query (macros/leaf_indicator_rows.sql) run with as_of_time, so the state is as of the cut and the window
-- ends at it. Only the latest refresh of each date is kept; never published, never read by the nightly build.

with

leaf_rows as (

    {{ leaf_indicator_rows() }}

)

select
    leaf_rows.*,
    {% if as_of_time() is none %}cast(null as timestamptz){% else %}timestamptz '{{ as_of_time() }}+00'{% endif %}
        as as_of_time,
    cast(now() as timestamptz) as computed_at,
    true as provisional
from leaf_rows
