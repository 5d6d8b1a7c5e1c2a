{#- A model whose compiled SQL is DDL: the drill-down's table macros (macros/drilldown.sql). It runs the statements in
    one transaction and leaves no table or view behind (DuckDB keeps the macros in the warehouse's catalog).
    A run with an intraday cut (as_of_time) leaves them as they are: they are of nightly dates. -#}
{% materialization drilldown_functions, adapter='duckdb' %}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% call statement('main') -%}
    {%- if as_of_time() is none %}
    create schema if not exists {{ drilldown_schema() }};
    {{ sql }}
    {%- else %}
    select 1
    {%- endif %}
  {%- endcall %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': []}) }}
{% endmaterialization %}
