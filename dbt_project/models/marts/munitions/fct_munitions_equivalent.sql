{#- One row per explosive shipment: the rounds it could hold, by two independent methods, each
    with low / central / high bounds and the blended parameters used (int_blended_munition_profiles).
    Summing rounds_central over any set of shipments gives the headline (mass) figure for that set.
    mass       rounds = gross cargo tonnes x 1000 / blended packed kg per round
    container  rounds = containers x blended rounds per container -#}
{#- Spark (dbt-spark on Parquet, no Delta) cannot delete rows, so the pre-hook's delete of
    the changed waybills has no Spark form: there the model is a full table on every build. -#}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        tags=['monthly'],
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_changed_waybills() }}",
    )
}}
-- depends_on: {{ ref('stg_raw__changed_waybills') }}
with

shipments as (

    select * from {{ ref('fct_shipments') }}
    where is_explosive
    {{ only_changed_waybills() }}

),

blend as (

    select * from {{ ref('int_blended_munition_profiles') }}

),

estimates as (

    select
        shipments.shipment_id,
        shipments.waybill_no,
        shipments.dispatch_date,
        shipments.dispatch_month,
        shipments.route_id,
        shipments.gross_cargo_tonnes,
        -- one consignment with a container number is one container load
        case when shipments.container_no is null then 0 else 1 end as containers,
        blend.profiles,
        blend.kg_per_round_low,
        blend.kg_per_round_central,
        blend.kg_per_round_high,
        blend.rounds_per_container_low,
        blend.rounds_per_container_central,
        blend.rounds_per_container_high,
        shipments.gross_cargo_tonnes * 1000.0 / blend.kg_per_round_high as rounds_low,
        shipments.gross_cargo_tonnes * 1000.0 / blend.kg_per_round_central as rounds_central,
        shipments.gross_cargo_tonnes * 1000.0 / blend.kg_per_round_low as rounds_high,
        case when shipments.container_no is not null then blend.rounds_per_container_low end
            as container_rounds_low,
        case when shipments.container_no is not null then blend.rounds_per_container_central end
            as container_rounds_central,
        case when shipments.container_no is not null then blend.rounds_per_container_high end
            as container_rounds_high,
        shipments.is_synthetic

    from shipments
    cross join blend

),

final as (

    select * from estimates

)

select * from final
