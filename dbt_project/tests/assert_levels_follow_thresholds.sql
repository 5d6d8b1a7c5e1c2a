-- Every level this run wrote to fct_leaf_indicators for an ok leaf agrees with the catalogue's thresholds, checked
-- as properties rather than with the model's CASE (macros/levels.sql): for each threshold k, the level is at most
-- the k-th step of the scale exactly when the value is at most t_k. Together these pin the level to one step (the
-- number of thresholds the value exceeds), so a wrong step, a shifted boundary (< for <=) or another indicator's
-- thresholds all fail here. no_events and no_data rows are tested in models/marts/_marts.yml. Older dates keep the
-- levels of the thresholds they were built with, so only the run's dates are checked. Returns the rows that disagree,
-- with the first threshold each breaks.
{%- set levels = var('likelihood_levels') %}
with

leaves as (

    select * from {{ ref('fct_leaf_indicators') }}
    where as_of_date between {{ as_of_from() }} and {{ as_of_to() }}
        and status = 'ok'

),

indicators as (

    select * from {{ ref('dim_indicators') }}

),

checked as (

    select
        leaves.as_of_date,
        leaves.indicator_id,
        leaves.value,
        leaves.level,
        case
            {%- for k in range(1, levels | length) %}
            when (leaves.value <= indicators.t{{ k }}) is distinct from (leaves.level <= {{ levels[k - 1] }})
                then 't{{ k }}'
            {%- endfor %}
        end as broken_threshold

    from leaves
    inner join indicators
        on indicators.indicator_id = leaves.indicator_id

)

select *
from checked
where broken_threshold is not null
