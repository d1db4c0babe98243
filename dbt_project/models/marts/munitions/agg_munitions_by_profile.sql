{#- The headline rounds split by munition profile (calibre), per month and route: the mass method
    applied to each profile's share of the month's explosive tonnes, the container method to its
    share of the containers. Built on agg_monthly_flows, so its size does not grow with shipments. -#}
with

flows as (

    select * from {{ ref('agg_monthly_flows') }}

),

profiles as (

    select * from {{ ref('munition_profiles') }}

),

split as (

    select
        flows.month,
        flows.route_id,
        profiles.profile_id,
        profiles.mix_share,
        flows.explosive_tonnes * profiles.mix_share as explosive_tonnes,
        flows.containers * profiles.mix_share as containers,
        profiles.kg_per_round_low,
        profiles.kg_per_round_central,
        profiles.kg_per_round_high,
        flows.explosive_tonnes * 1000.0 * profiles.mix_share / profiles.kg_per_round_high
            as rounds_low,
        flows.explosive_tonnes * 1000.0 * profiles.mix_share / profiles.kg_per_round_central
            as rounds_central,
        flows.explosive_tonnes * 1000.0 * profiles.mix_share / profiles.kg_per_round_low
            as rounds_high,
        flows.containers * profiles.mix_share * profiles.rounds_per_container_low
            as container_rounds_low,
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
