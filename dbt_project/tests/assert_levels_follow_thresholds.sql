-- Every level this run wrote to fct_leaf_indicators agrees with the thresholds of the catalogue (independently of
-- the model's own CASE). Older dates keep the levels of the thresholds they were built with, so only the run's
-- dates are checked. Returns the rows that disagree.
with

leaves as (

    select * from {{ ref('fct_leaf_indicators') }}
    where as_of_date between {{ as_of_from() }} and {{ as_of_to() }}

),

indicators as (

    select * from {{ ref('dim_indicators') }}

),

expected as (

    select
        leaves.as_of_date,
        leaves.indicator_id,
        leaves.status,
        leaves.value,
        leaves.level,
        case
            when leaves.status = 'no_data' then null
            when leaves.status = 'no_events' then 0.2
            when leaves.value <= indicators.t1 then 0.2
            when leaves.value <= indicators.t2 then 0.4
            when leaves.value <= indicators.t3 then 0.6
            when leaves.value <= indicators.t4 then 0.8
            else 1.0
        end as expected_level

    from leaves
    inner join indicators
        on indicators.indicator_id = leaves.indicator_id

)

select *
from expected
where level is distinct from expected_level
