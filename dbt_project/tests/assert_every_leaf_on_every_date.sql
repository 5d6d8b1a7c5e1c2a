-- Each as-of date of this run has exactly one row per indicator of the catalogue in fct_leaf_indicators
-- (returns the dates that do not).
with

leaves as (

    select * from {{ ref('fct_leaf_indicators') }}
    where as_of_date between {{ as_of_from() }} and {{ as_of_to() }}

),

catalogue_size as (

    select count(*) as indicators from {{ ref('dim_indicators') }}

)

select leaves.as_of_date, count(*) as rows_found, any_value(catalogue_size.indicators) as rows_expected
from leaves
cross join catalogue_size
group by leaves.as_of_date
having count(*) <> any_value(catalogue_size.indicators)
