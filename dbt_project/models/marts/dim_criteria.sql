-- The eight criteria u1..u8 of the evaluation hierarchy (seeds/criteria.csv).

with

criteria as (

    select * from {{ ref('criteria') }}

)

select criterion_id, sort_order, name_zh, name_en
from criteria
