-- The system catalogue (seeds/systems.csv): BC5 divides downtime by window minutes x these systems.

with

systems as (

    select * from {{ ref('systems') }}

)

select system_id, name_en
from systems
