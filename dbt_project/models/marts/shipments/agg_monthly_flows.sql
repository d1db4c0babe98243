{#- Explosive traffic only: the figures the reports argue about, per month and rail route.
    Incremental by month (macro only_changed_months): a day of manifests recomputes its month,
    not a scan of every shipment. Spark cannot delete rows: there it is a table. -#}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_changed_months('month') }}",
    )
}}
-- depends_on: {{ source('raw', 'changed_keys') }}
with

shipments as (

    select * from {{ ref('fct_shipments') }}
    where is_explosive {{ only_changed_months('dispatch_month') }}

),

munitions as (

    select * from {{ ref('fct_munitions_equivalent') }}
    {{ only_changed_months('dispatch_month', keyword='where') }}

),

flows as (

    select
        dispatch_month as month,
        route_id,
        min(route_name) as route_name,
        min(origin_station_code) as origin_station_code,
        min(destination_station_code) as destination_station_code,
        {{ exact_sum('gross_cargo_tonnes') }} as explosive_tonnes,
        count(*) as shipments,
        count(container_no) as containers,
        bool_and(is_synthetic) as is_synthetic
    from shipments
    group by dispatch_month, route_id

),

rounds as (

    select
        dispatch_month as month,
        route_id,
        {{ exact_sum('rounds_low') }} as rounds_low,
        {{ exact_sum('rounds_central') }} as rounds_central,
        {{ exact_sum('rounds_high') }} as rounds_high
    from munitions
    group by dispatch_month, route_id

),

final as (

    select
        flows.month,
        flows.route_id,
        flows.route_name,
        flows.origin_station_code,
        flows.destination_station_code,
        flows.explosive_tonnes,
        flows.shipments,
        flows.containers,
        coalesce(rounds.rounds_low, 0) as rounds_low,
        coalesce(rounds.rounds_central, 0) as rounds_central,
        coalesce(rounds.rounds_high, 0) as rounds_high,
        flows.is_synthetic

    from flows
    left join rounds
        on flows.month = rounds.month
        and flows.route_id = rounds.route_id

)

select * from final
