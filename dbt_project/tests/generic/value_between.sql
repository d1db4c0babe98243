{#- Numbers or dates inside an inclusive range; either bound may be omitted. Nulls pass unless
    required=true. -#}
{% test value_between(model, column_name, min_value=none, max_value=none, required=false) %}
select {{ column_name }}
from {{ model }}
where {% if required %}{{ column_name }} is null{% else %}false{% endif %}
    {% if min_value is not none %} or {{ column_name }} < {{ min_value }} {% endif %}
    {% if max_value is not none %} or {{ column_name }} > {{ max_value }} {% endif %}
{% endtest %}
