with

claims as (

    select * from {{ ref('int_claims') }}

),

final as (

    select * from claims

)

select * from final
