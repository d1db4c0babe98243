{#- Two independent estimates per explosive shipment and munition profile:
    mass      rounds = net tonnes x 1000 x mix share / packed kg per round
              (the LOW round count uses the HIGH packed mass and vice versa);
    container rounds = containers x rounds per 20 ft container x mix share. -#}
with

shipments as (

    select * from {{ ref('fct_shipments') }}
    where is_explosive

),

profiles as (

    select * from {{ ref('munition_profiles') }}

),

by_mass as (

    select
        shipments.shipment_id,
        shipments.waybill_no,
        profiles.profile_id,
        'mass' as method,
        shipments.dispatch_date,
        shipments.dispatch_month,
        shipments.route_id,
        shipments.net_tonnes,
        case when shipments.container_no is null then 0 else 1 end as containers,
        profiles.mix_share,
        profiles.kg_per_round_low,
        profiles.kg_per_round_central,
        profiles.kg_per_round_high,
        cast(null as double) as rounds_per_container_low,
        cast(null as double) as rounds_per_container_central,
        cast(null as double) as rounds_per_container_high,
        shipments.net_tonnes * 1000.0 * profiles.mix_share / profiles.kg_per_round_high as rounds_low,
        shipments.net_tonnes * 1000.0 * profiles.mix_share / profiles.kg_per_round_central as rounds_central,
        shipments.net_tonnes * 1000.0 * profiles.mix_share / profiles.kg_per_round_low as rounds_high,
        shipments.is_synthetic

    from shipments
    cross join profiles

),

by_container as (

    select
        shipments.shipment_id,
        shipments.waybill_no,
        profiles.profile_id,
        'container' as method,
        shipments.dispatch_date,
        shipments.dispatch_month,
        shipments.route_id,
        shipments.net_tonnes,
        1 as containers,
        profiles.mix_share,
        cast(null as double) as kg_per_round_low,
        cast(null as double) as kg_per_round_central,
        cast(null as double) as kg_per_round_high,
        profiles.rounds_per_container_low,
        profiles.rounds_per_container_central,
        profiles.rounds_per_container_high,
        profiles.rounds_per_container_low * profiles.mix_share as rounds_low,
        profiles.rounds_per_container_central * profiles.mix_share as rounds_central,
        profiles.rounds_per_container_high * profiles.mix_share as rounds_high,
        shipments.is_synthetic

    from shipments
    cross join profiles
    -- one consignment is one container load; without a container number there is nothing to count
    where shipments.container_no is not null

),

unioned as (

    select * from by_mass
    union all
    select * from by_container

),

final as (

    select
        {{ surrogate_key(['shipment_id', 'profile_id', 'method']) }} as estimate_id,
        *
    from unioned

)

select * from final
