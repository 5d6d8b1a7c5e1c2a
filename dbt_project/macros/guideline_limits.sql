{#- The guideline's limits (var guideline_limits, dbt_project.yml: value, unit and which definition sets each), the
    one place the leaf models and the run's look-back read them from. A literal in the compiled SQL, like any var. -#}
{% macro guideline_limit(name) -%}
    {%- set limits = var('guideline_limits') -%}
    {%- if name not in limits -%}
        {{ exceptions.raise_compiler_error(
            "no guideline limit '" ~ name ~ "' in var guideline_limits (dbt_project.yml)"
        ) }}
    {%- endif -%}
    {{ return(limits[name]['value']) }}
{%- endmacro %}
