{#- The profile mix as one set of parameters: the one home of the blend, read by
    fct_munitions_equivalent (per shipment) and the claim figures (per day).
    mass       packed kg per round of the mix = 1 / sum(mix_share / kg); the LOW count uses the
               HIGH packed mass.
    container  rounds per container of the mix = sum(mix_share x rounds). -#}
with

profiles as (

    select * from {{ ref('munition_profiles') }}

),

blend as (

    select
        1.0 / sum(mix_share / kg_per_round_low) as kg_per_round_low,
        1.0 / sum(mix_share / kg_per_round_central) as kg_per_round_central,
        1.0 / sum(mix_share / kg_per_round_high) as kg_per_round_high,
        sum(mix_share * rounds_per_container_low) as rounds_per_container_low,
        sum(mix_share * rounds_per_container_central) as rounds_per_container_central,
        sum(mix_share * rounds_per_container_high) as rounds_per_container_high,
        count(*) as profiles
    from profiles

),

final as (

    select * from blend

)

select * from final
