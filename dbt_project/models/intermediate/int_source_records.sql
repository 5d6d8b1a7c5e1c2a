-- How many records each source has in each as-of date's window: its entities in their state as of D whose own
-- timestamp (the contract's event_time: a transaction's event_at, a complaint's opened_at, an incident's started_at,
-- a backup's scheduled_at) falls in the window, as each family model counts them. A leaf reading a source with none
-- is `no_data`, never low risk. The ingestion-health dataset (transforms/quality/health.py) counts
-- `records_in_window` by the same definition from the raw logs. One branch per source of var('sources') (the
-- contract's SOURCES): the family model int_<source>_leaves and its <source>_records column.

with

{% for source in var('sources') %}
{%- set family = source[:-1] %}
{{ family }}_leaves as (

    select * from {{ ref('int_' ~ family ~ '_leaves') }}

),

{% endfor -%}

source_records as (

    {% for source in var('sources') -%}
    {%- set family = source[:-1] -%}
    select as_of_date, '{{ source }}' as source, {{ family }}_records as records_in_window
    from {{ family }}_leaves
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}

)

select * from source_records
