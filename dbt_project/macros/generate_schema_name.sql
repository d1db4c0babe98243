{#- Custom schemas are used verbatim (staging, intermediate, main, seeds), not prefixed with the
    target schema, so BI and the publish step find the same names in every environment. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
