{#- What one run reads. A run computes the as-of dates as_of_from .. as_of_to; an entity matters to it only when one
    of its own timestamps (a transaction's event_at, a complaint's opened_at, ...) falls in the window of one of
    those dates, widened by the look-back its leaves need (a 30-day deadline looks 30 days further back), and only
    its versions known by the end of the last date count. So a run reads the window of its dates, not the history.

    The bounds are literal UTC instants one day wider than the local days they stand for (every zone is within
    14 h of UTC): a literal lets DuckDB compare it with each row group's min/max and skip the row groups outside
    the run (the raw logs are appended file by file, so their timestamps cluster by row group). The exact
    local-time rules are applied afterwards by the models that use the versions. -#}

{#- The look-back of a source (days before the window's first day that its leaves reach), derived from the
    guideline's limits (macros/guideline_limits.sql), so that raising a limit widens what a run reads with it:
    complaints whose response or dispute deadline may fall in the window (RP3, LG1), backups whose success covers
    the window's first day (BC3). Both with a day to spare for the local days (the exact instants are compared
    by the models). Transactions and incidents need none (their deadlines run from their own timestamps). -#}
{% macro longest_complaint_deadline_days() -%}
    {{ return([guideline_limit('response_deadline_days'), guideline_limit('dispute_deadline_days')] | max) }}
{%- endmacro %}

{% macro complaint_look_back_days() -%}
    {{ return(longest_complaint_deadline_days() + 1) }}
{%- endmacro %}

{% macro backup_look_back_days() -%}
    {{ return(((guideline_limit('backup_max_age_hours') / 24) | round(0, 'ceil') | int) + 1) }}
{%- endmacro %}

{#- An instant at or before 00:00 local of the first window day of the run, `look_back_days` earlier. With `as_of` (a
    SQL date expression: a drill-down function's parameter, macros/drilldown.sql) the run is that one date, and the
    bound is the same instant as an expression of it. -#}
{% macro run_scope_start(look_back_days=0, as_of=none) -%}
    {%- set days_back = var('window_days') | int - 1 + look_back_days + 1 -%}
    {%- if as_of is none -%}
    {%- set first = modules.datetime.date.fromisoformat(as_of_range()[0]) -%}
    {%- set day = first - modules.datetime.timedelta(days=days_back) -%}
    timestamptz '{{ day.isoformat() }} 00:00:00+00'
    {%- else -%}
    timezone('UTC', cast({{ as_of_from(as_of) }} - {{ days_back }} as timestamp))
    {%- endif -%}
{%- endmacro %}

{#- An instant at or after the end of the last as-of date of the run (00:00 local of the day after). -#}
{#- With an intraday cut (as_of_time) it is the cut itself: versions recorded after it do not exist yet (a drill-down,
    with `as_of`, is of a nightly date: no cut). -#}
{% macro run_scope_end(as_of=none) -%}
    {%- if as_of is not none -%}
    timezone('UTC', cast({{ as_of_to(as_of) }} + 2 as timestamp))
    {%- else -%}
    {%- set cut = as_of_time() -%}
    {%- if cut is not none -%}
        timestamptz '{{ cut }}+00'
    {%- else -%}
        {%- set last = modules.datetime.date.fromisoformat(as_of_range()[1]) -%}
        {%- set day = last + modules.datetime.timedelta(days=2) -%}
        timestamptz '{{ day.isoformat() }} 00:00:00+00'
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- CTEs ending in `versions_in_run`: the versions of `relation` (a change log keyed by `key`) this run can see,
    each with the as-of dates it is its entity's state for (version_validity).

    `scoped_on` maps each timestamp column that can place an entity in a window to its look-back in days. An entity
    is in scope when one of its versions known by the end of the run has such a timestamp in range; then its versions
    known by the end of the run are kept from the earliest in-scope version of the run on, so a later version (a late
    update, whatever its own timestamps) still ends the range of the version before it. An older version of an entity
    is out of scope itself and ends only ranges that are out of scope too. That lower bound on updated_at is what
    lets the scan skip the history: DuckDB pushes the subquery's value into the scan as a dynamic filter.

    With `as_of` (a SQL date expression) the run is that one date: a drill-down function (macros/drilldown.sql). -#}
{% macro versions_in_run(relation, key, scoped_on, as_of=none) -%}
{#- plain comparisons, so that DuckDB can compare them with each row group's min/max (one column: a conjunction it
    pushes into the scan; the backups' two columns make an OR, which it does not, on a log of a few rows a day) -#}
{%- set in_scope -%}
    ({% for column, look_back_days in scoped_on.items() -%}
        ({{ column }} >= {{ run_scope_start(look_back_days, as_of) }} and {{ column }} < {{ run_scope_end(as_of) }})
        {%- if not loop.last %} or {% endif %}
    {%- endfor %})
{%- endset -%}

scoped_keys as (

    select {{ key }}, updated_at
    from {{ relation }}
    where {{ in_scope }}
        and updated_at < {{ run_scope_end(as_of) }}

),

-- the in-scope versions themselves, and the versions of in-scope entities that are out of scope themselves (a later
-- update that moved the entity's timestamp): the semi-join then only probes those few rows
scoped_versions as (

    select *
    from {{ relation }}
    where {{ in_scope }}
        and updated_at < {{ run_scope_end(as_of) }}

    union all

    select *
    from {{ relation }}
    -- nothing in scope: an infinite bound, so that the scan skips every row group (NULL would skip none)
    where updated_at >= coalesce((select min(updated_at) from scoped_keys), 'infinity'::timestamptz)
        and updated_at < {{ run_scope_end(as_of) }}
        and not coalesce({{ in_scope }}, false)  -- a NULL timestamp (a backup not finished) is out of scope
        and {{ key }} in (select {{ key }} from scoped_keys)

),

versions_in_run as (

    select
        *,
        {{ version_validity(key) }}
    from scoped_versions

)
{%- endmacro %}

{#- The highest _ingest_seq an incremental index (`relation`) has read; -1 before its first run. -#}
{% macro high_water_of(relation) -%}
    coalesce((
        select max(ingest_seq) from {{ relation.schema }}.index_high_water
        where index_name = '{{ relation.identifier }}'
    ), -1)
{%- endmacro %}
