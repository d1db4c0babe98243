-- Calibration: the central mix implies a blended packed mass per round inside the analysts'
-- reference band (74,000 t ~ 1.6 million rounds, about 46 kg per packed round).
with

blend as (

    select kg_per_round_central as blended_kg
    from {{ ref('int_blended_munition_profiles') }}

),

reference as (

    select
        low,
        high
    from {{ ref('method_parameters') }}
    where parameter = 'reference_kg_per_packed_round'

),

final as (

    select
        blend.blended_kg,
        reference.low,
        reference.high
    from blend
    cross join reference
    where blend.blended_kg not between reference.low and reference.high

)

select * from final
