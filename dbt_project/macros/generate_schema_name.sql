{#- Schemas are named exactly as configured (reference, staging, intermediate, marts): other parts of the
    pipeline (validation, publishing, analysts) query them by these names, so no target prefix. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
