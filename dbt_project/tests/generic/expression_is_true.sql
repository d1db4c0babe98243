{#- A row-level invariant across columns (e.g. low <= central <= high). -#}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}
