with

source as (

    select * from {{ source('raw', 'changed_keys') }}

),

waybills as (

    select distinct key as waybill_no
    from source
    where source = 'manifests'

),

final as (

    select * from waybills

)

select * from final
