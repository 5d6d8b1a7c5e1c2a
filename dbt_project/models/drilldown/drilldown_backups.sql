-- The drill-down of the backup leaves (macros/drilldown.sql): drilldown.backup_records(D, high water), every backup
-- D can see in its state as of D with DC2's share, drilldown.backup_system_records and
-- drilldown.backup_system_day_records, the systems (DC1) and system-days (BC3) that count for D with their shares
-- (macros/backup_records.sql, the rules the leaves add up), and one drilldown.leaf_<id> per backup leaf.

{%- set version = drilldown_version_columns() %}

{%- set records %}
with

{{ backup_versions_in_run(drilldown_log(ref('stg_backups')), as_of=drilldown_as_of()) }},

backup_states as (

    {{ backup_states('versions_in_run', as_of_dates(drilldown_as_of()), version) }}

)

{{ backup_contributions('backup_states') }}
{%- endset %}

{%- set backup_records = drilldown_schema() ~ '.backup_records(' ~ drilldown_parameters() ~ ')' %}
{%- set system_records = drilldown_schema() ~ '.backup_system_records(' ~ drilldown_parameters() ~ ')' %}

{{ drilldown_function('backup_records', records) }}

{{ drilldown_function('backup_system_records', backup_system_contributions(backup_records)) }}

{{ drilldown_function('backup_system_day_records', backup_system_day_contributions(backup_records, system_records)) }}

{{ leaf_drilldown('BC3', 'backup_system_day_records', 'system', 'day_end', ['day'], 'bc3_num',
    'system-days: each local day of the window of each system with a backup scheduled in it, whose end (24:00 '
    ~ 'local, day_end) had no successful backup finished in the 24 h before; contribution: 1 each') }}

{{ leaf_drilldown('DC1', 'backup_system_records', 'system', 'last_scheduled_at',
    ['scheduled_backups', 'has_offsite_success', 'has_good_restore_test'], 'dc1_num',
    'systems with a backup scheduled in the window that have no successful backup with an offsite copy, or no '
    ~ 'backup with a successful restore test, among them; contribution: 1 each') }}

{{ leaf_drilldown('DC2', 'backup_records', 'backup_id', 'scheduled_at',
    ['system', 'backup_type', 'status', 'finished_at'] + version, 'dc2_num',
    'backups scheduled in the window, in their state as of D, whose status is not success; contribution: 1 each') }}
