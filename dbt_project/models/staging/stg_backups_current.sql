-- The current state of each backup (its newest version overall), for analysts. Reads the whole log: nothing in
-- the build depends on it.

select *
from {{ ref('stg_backups') }}
qualify {{ is_newest_version('backup_id') }}
