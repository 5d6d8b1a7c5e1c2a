-- The current state of each entity (its newest version overall), for analysts.

select * exclude (valid_from_date, valid_to_date, is_current)
from {{ ref('stg_backups') }}
where is_current
