{#- Many column checks in ONE scan of a large model: `rules` maps each column to a condition it
    must satisfy (null results pass, as in SQL check constraints). Failing rows name the first
    column whose rule they break. Used on the row-per-consignment models, where one query per
    column would rescan millions of rows dozens of times. -#}
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
