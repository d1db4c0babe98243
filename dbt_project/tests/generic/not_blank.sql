{#- An empty or whitespace-only string hides a missing value. With required=true a null fails
    too (one query instead of a separate not_null test). -#}
{% test not_blank(model, column_name, required=false) %}
select {{ column_name }}
from {{ model }}
where {% if required %}{{ column_name }} is null or {% endif %}trim({{ column_name }}) = ''
{% endtest %}
