{#- Every column check of a model in ONE query: `rules` maps each column to a condition it must
    satisfy (null results pass, as in SQL check constraints). Failing rows name the first
    column whose rule they break, with how many rows: the dbt_tests check shows them. Every
    model and seed has one: a dbt test node costs ~25 ms of dbt's own work even on a ten-row
    table (one test per column was ~390 nodes a run), and a big model is scanned once, not once
    per column. -#}
{% test column_rules(model, rules) %}
with

checked as (

    select
        case
            {%- for column, rule in rules.items() %}
            when not ({{ rule }}) then '{{ column }}'
            {%- endfor %}
        end as failed_column
    from {{ model }}

)

select failed_column, count(*) as failing_rows
from checked
where failed_column is not null
group by failed_column
{% endtest %}
