{#- The as-of dates one run computes (inclusive ISO dates): the vars as_of_from .. as_of_to when given (by hand, and
    in unit tests), else the environment variables RISKCARD_AS_OF_FROM .. RISKCARD_AS_OF_TO (what `riskcard build`
    sets: dbt re-parses the whole project whenever a var changes, and a nightly build's dates change every night,
    while an environment variable read only at execution leaves dbt's partial parsing intact). With neither, the
    run is for yesterday in the bank's time zone (the nightly scorecard). Every intermediate model derives its rows
    from this range only, so a run over 365 dates is one pass, not 365. -#}
{% macro as_of_range() -%}
    {%- set date_from = var('as_of_from', none) -%}
    {%- set date_to = var('as_of_to', none) -%}
    {%- if date_from is none and date_to is none and execute -%}
        {%- set date_from = env_var('RISKCARD_AS_OF_FROM', '') or none -%}
        {%- set date_to = env_var('RISKCARD_AS_OF_TO', '') or none -%}
    {%- endif -%}
    {%- if date_from is none and date_to is none -%}
        {%- set today = modules.datetime.datetime.now(modules.pytz.timezone(var('timezone'))).date() -%}
        {%- set date_from = (today - modules.datetime.timedelta(days=1)).isoformat() -%}
        {%- set date_to = date_from -%}
    {%- elif date_from is none -%}
        {%- set date_from = date_to -%}
    {%- elif date_to is none -%}
        {%- set date_to = date_from -%}
    {%- endif -%}
    {%- set parsed = [] -%}
    {%- for text in [date_from, date_to] -%}
        {%- set text = text | string -%}
        {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', text) -%}
            {{ exceptions.raise_compiler_error("as_of_from / as_of_to must be ISO dates (YYYY-MM-DD), got '" ~ text ~ "'") }}
        {%- endif -%}
        {%- do parsed.append(text) -%}
    {%- endfor -%}
    {%- if parsed[0] > parsed[1] -%}
        {{ exceptions.raise_compiler_error("as_of_from " ~ parsed[0] ~ " is after as_of_to " ~ parsed[1]) }}
    {%- endif -%}
    {{ return(parsed) }}
{%- endmacro %}

{#- The intraday cut (transforms.monitoring.provisional): an ISO UTC instant, from the var as_of_time or the environment
    variable RISKCARD_AS_OF_TIME; none for a nightly build. With a cut, the run is for one as-of date D and sees the
    state as of the cut instead of the end of D: records with updated_at before it, and a window that ends at it.
    The cut must lie in D (after 00:00 local of D, at most 00:00 of D+1: at 00:00 of D+1 it is the nightly run). -#}
{% macro as_of_time() -%}
    {%- set cut = var('as_of_time', none) -%}
    {%- if cut is none and execute -%}
        {%- set cut = env_var('RISKCARD_AS_OF_TIME', '') or none -%}
    {%- endif -%}
    {%- if cut is not none -%}
        {%- set cut = cut | string -%}
        {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\+00:00|Z)?', cut) -%}
            {{ exceptions.raise_compiler_error("as_of_time must be a UTC instant (YYYY-MM-DDTHH:MM:SS+00:00), got '" ~ cut ~ "'") }}
        {%- endif -%}
        {%- set dates = as_of_range() -%}
        {%- if dates[0] != dates[1] -%}
            {{ exceptions.raise_compiler_error("as_of_time cuts one as-of date, the run has " ~ dates[0] ~ " .. " ~ dates[1]) }}
        {%- endif -%}
        {%- set cut = cut[:10] ~ ' ' ~ cut[11:19] -%}
    {%- endif -%}
    {{ return(cut) }}
{%- endmacro %}

{#- The first / last as-of date of the run as a SQL date. With `as_of` (a SQL date expression, such as the parameter
    of a drill-down function: macros/drilldown.sql) the run is that one date instead. -#}
{% macro as_of_from(as_of=none) -%}
    {%- if as_of is none -%}
    date '{{ as_of_range()[0] }}'
    {%- else -%}
    cast({{ as_of }} as date)
    {%- endif -%}
{%- endmacro %}

{% macro as_of_to(as_of=none) -%}
    {%- if as_of is none -%}
    date '{{ as_of_range()[1] }}'
    {%- else -%}
    cast({{ as_of }} as date)
    {%- endif -%}
{%- endmacro %}

{#- A relation with one row per as-of date of the run: (as_of_date, window_start, window_end); with `as_of`, the one
    row of that date. -#}
{% macro as_of_dates(as_of=none) -%}
    (
        select
            as_of_date,
            {{ window_start('as_of_date') }} as window_start,
            {{ window_end('as_of_date') }} as window_end
        from (
            {%- if as_of is none %}
            select cast(unnest(generate_series({{ as_of_from() }}, {{ as_of_to() }}, interval 1 day)) as date)
                as as_of_date
            {%- else %}
            select {{ as_of_from(as_of) }} as as_of_date
            {%- endif %}
        ) as run_dates
    )
{%- endmacro %}
