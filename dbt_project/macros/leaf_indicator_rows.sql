{#- The rows of the leaf-indicator fact: one per (as-of date, leaf), the value with its numerator, denominator or
    sample size, the status and the likelihood level from the catalogue's thresholds. The nightly model
    (fct_leaf_indicators) and the intraday one (fct_leaf_indicators_intraday, with a cut) are both this query. -#}
{% macro leaf_indicator_rows() -%}

with

leaf_values as (

    select * from {{ ref('int_leaf_values') }}

),

source_records as (

    select * from {{ ref('int_source_records') }}

),

indicators as (

    select * from {{ ref('indicators') }}

),

indicator_sources as (

    select indicator_id, unnest(string_split(sources, '|')) as source
    from indicators

),

-- a leaf has data only when every source it reads has at least one record in the window
leaf_data_presence as (

    select
        leaf_values.as_of_date,
        leaf_values.indicator_id,
        bool_and(coalesce(source_records.records_in_window, 0) > 0) as has_data

    from leaf_values
    inner join indicator_sources
        on indicator_sources.indicator_id = leaf_values.indicator_id
    left join source_records
        on source_records.as_of_date = leaf_values.as_of_date
        and source_records.source = indicator_sources.source
    group by leaf_values.as_of_date, leaf_values.indicator_id

),

leaf_status as (

    select
        leaf_values.as_of_date,
        leaf_values.indicator_id,
        indicators.criterion_id,
        leaf_values.numerator,
        leaf_values.denominator,
        leaf_values.sample_size,
        leaf_values.value,
        indicators.t1,
        indicators.t2,
        indicators.t3,
        indicators.t4,
        case
            when not coalesce(leaf_data_presence.has_data, false) then 'no_data'
            when leaf_values.value is null then 'no_events'
            else 'ok'
        end as status

    from leaf_values
    inner join indicators
        on indicators.indicator_id = leaf_values.indicator_id
    left join leaf_data_presence
        on leaf_data_presence.as_of_date = leaf_values.as_of_date
        and leaf_data_presence.indicator_id = leaf_values.indicator_id

),

leveled as (

    select
        as_of_date,
        indicator_id,
        criterion_id,
        case when status = 'ok' then value end as value,
        numerator,
        denominator,
        sample_size,
        -- likelihood C, "higher is riskier": value <= t1 -> the lowest step ... above t4 -> the highest; no events
        -- is the lowest step, missing data has none (it must never look like low risk): macros/levels.sql
        {{ level_from_thresholds('value', 'status', ['t1', 't2', 't3', 't4']) }} as level,
        status,
        {{ window_start('as_of_date') }} as window_start,
        {{ window_end('as_of_date') }} as window_end

    from leaf_status

)

select
    cast(as_of_date as date) as as_of_date,
    cast(indicator_id as varchar) as indicator_id,
    cast(criterion_id as varchar) as criterion_id,
    cast(value as double) as value,
    cast(numerator as double) as numerator,
    cast(denominator as double) as denominator,
    cast(sample_size as bigint) as sample_size,
    cast(level as double) as level,
    cast(status as varchar) as status,
    cast(window_start as timestamptz) as window_start,
    cast(window_end as timestamptz) as window_end
from leveled

{%- endmacro %}
