{#- The headline rounds split by munition profile (calibre), per month and route: the mass method
    applied to each profile's share of the tonnage, the container method to its share of the
    containers. Aggregated before the split, so its size does not grow with shipments. -#}
with

shipments as (

    select * from {{ ref('fct_shipments') }}
    where is_explosive

),

profiles as (

    select * from {{ ref('munition_profiles') }}

),

flows as (

    select
        dispatch_month as month,
        route_id,
        sum(net_tonnes) as tonnes,
        sum(case when container_no is null then 0 else 1 end) as containers,
        bool_and(is_synthetic) as is_synthetic
    from shipments
    group by dispatch_month, route_id

),

split as (

    select
        flows.month,
        flows.route_id,
        profiles.profile_id,
        profiles.mix_share,
        flows.tonnes * profiles.mix_share as tonnes,
        flows.containers * profiles.mix_share as containers,
        profiles.kg_per_round_low,
        profiles.kg_per_round_central,
        profiles.kg_per_round_high,
        flows.tonnes * 1000.0 * profiles.mix_share / profiles.kg_per_round_high as rounds_low,
        flows.tonnes * 1000.0 * profiles.mix_share / profiles.kg_per_round_central as rounds_central,
        flows.tonnes * 1000.0 * profiles.mix_share / profiles.kg_per_round_low as rounds_high,
        flows.containers * profiles.mix_share * profiles.rounds_per_container_low as container_rounds_low,
        flows.containers * profiles.mix_share * profiles.rounds_per_container_central
            as container_rounds_central,
        flows.containers * profiles.mix_share * profiles.rounds_per_container_high
            as container_rounds_high,
        flows.is_synthetic

    from flows
    cross join profiles

),

final as (

    select * from split

)

select * from final
