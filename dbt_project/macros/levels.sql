{#- The likelihood level of a leaf (indicators.md, "Level"; "higher is riskier"): the k-th step of the scale for a
    value at or below the k-th threshold, the top step above the last threshold. A no_events leaf scores the lowest
    step; a no_data leaf has no level (missing data must never look like low risk).
    The scale is the var likelihood_levels (the scale of transforms/scoring/levels.py, see dbt_project.yml); one
    threshold column per step but the top one. -#}
{% macro level_from_thresholds(value, status, thresholds) -%}
    {%- set levels = var('likelihood_levels') -%}
    {%- if thresholds | length != levels | length - 1 -%}
        {{ exceptions.raise_compiler_error(
            "level_from_thresholds: " ~ (thresholds | length) ~ " thresholds for a scale of " ~ (levels | length)
            ~ " levels (" ~ (levels | join(', ')) ~ "): there is one threshold per level but the highest"
        ) }}
    {%- endif -%}
    case
            when {{ status }} = 'no_data' then null
            when {{ status }} = 'no_events' then {{ levels[0] }}
            {%- for threshold in thresholds %}
            when {{ value }} <= {{ threshold }} then {{ levels[loop.index0] }}
            {%- endfor %}
            else {{ levels[-1] }}
        end
{%- endmacro %}
