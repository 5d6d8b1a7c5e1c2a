{#- Local time in the bank's zone (var timezone). Raw timestamps are UTC instants (TIMESTAMPTZ); the session
    runs in UTC (profiles.yml), so every conversion to or from a local day is spelled out here, once. -#}

{#- The local wall-clock time of an instant (a naive TIMESTAMP). -#}
{% macro local_timestamp(instant) -%}
    timezone('{{ var("timezone") }}', {{ instant }})
{%- endmacro %}

{#- The local calendar day of an instant. -#}
{% macro local_date(instant) -%}
    cast(timezone('{{ var("timezone") }}', {{ instant }}) as date)
{%- endmacro %}

{#- The instant a local calendar day begins (00:00 local). -#}
{% macro local_day_start(day) -%}
    timezone('{{ var("timezone") }}', cast({{ day }} as timestamp))
{%- endmacro %}

{#- The indicator window of an as-of date D: the half-open local interval [00:00 of D-(window-1), 00:00 of D+1).
    The window's one definition: transforms/core/windows.py (window_for) is the Python copy for health and
    publishing, and tests/test_windows.py fails if the two differ on any date of a DST year. -#}
{% macro window_start(as_of_date) -%}
    {{ local_day_start(as_of_date ~ ' - ' ~ (var('window_days') | int - 1)) }}
{%- endmacro %}

{#- With an intraday cut (as_of_time) the window ends at the cut. -#}
{% macro window_end(as_of_date) -%}
    {%- set cut = as_of_time() -%}
    {%- if cut is none -%}
        {{ local_day_start(as_of_date ~ ' + 1') }}
    {%- else -%}
        least({{ local_day_start(as_of_date ~ ' + 1') }}, timestamptz '{{ cut }}+00')
    {%- endif -%}
{%- endmacro %}

{#- Minutes / hours between two instants, as DOUBLE. -#}
{% macro minutes_between(earlier, later) -%}
    (epoch({{ later }} - {{ earlier }}) / 60.0)
{%- endmacro %}

{#- Microseconds between two instants, as an integer: durations that are summed are summed in these, exactly, so
    a total never depends on the order the rows were added in. -#}
{% macro microseconds_between(earlier, later) -%}
    (epoch_us({{ later }}) - epoch_us({{ earlier }}))
{%- endmacro %}

{% macro microseconds_to_minutes(microseconds) -%}
    ({{ microseconds }} / 60000000.0)
{%- endmacro %}

{% macro hours_between(earlier, later) -%}
    (epoch({{ later }} - {{ earlier }}) / 3600.0)
{%- endmacro %}

{#- Is a local wall-clock time inside working hours (vars working_days, working_hours_start/end)? -#}
{% macro in_working_hours(local_ts) -%}
    (
        isodow({{ local_ts }}) in ({{ var('working_days') | join(', ') }})
        and cast({{ local_ts }} as time) >= time '{{ var("working_hours_start") }}'
        and cast({{ local_ts }} as time) < time '{{ var("working_hours_end") }}'
    )
{%- endmacro %}
