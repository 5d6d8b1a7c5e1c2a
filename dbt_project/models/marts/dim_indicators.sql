-- The indicator catalogue (seeds/indicators.csv): names, criterion, sources, kind, unit, direction, thresholds.

with

indicators as (

    select * from {{ ref('indicators') }}

)

select
    indicator_id,
    criterion_id,
    sort_order,
    name_zh,
    name_en,
    kri_en,
    string_split(sources, '|') as sources,
    kind,
    unit,
    direction,
    t1,
    t2,
    t3,
    t4
from indicators
