{{ config(materialized='view') }}
{#- The rows behind each claim's computed figure. Claims x shipments runs to tens of millions of
    rows at scale, so this is a view over published tables: never materialized, copied or diffed.
    Its refs leave the database out, so the view resolves inside whichever file holds it (the
    staging database, then each published version). -#}
with

claims as (

    select * from {{ ref('fct_claim_reconciliation').include(database=False) }}

),

shipments as (

    select * from {{ ref('fct_shipments').include(database=False) }}
    where is_explosive

),

voyages as (

    select * from {{ ref('fct_voyages').include(database=False) }}

),

shipment_evidence as (

    select
        claims.claim_id,
        claims.report_id,
        claims.metric,
        'shipment' as evidence_kind,
        shipments.shipment_id as evidence_id,
        shipments.dispatch_date as evidence_date,
        shipments.waybill_no,
        shipments.container_no,
        shipments.gross_cargo_tonnes,
        cast(null as {{ dbt.type_string() }}) as vessel_name,
        shipments.source_file,
        shipments.source_row,
        shipments.file_sha256,
        shipments.is_synthetic

    from claims
    inner join shipments
        on shipments.dispatch_date between claims.period_start and claims.period_end
    where claims.metric <> 'shipments'

),

voyage_evidence as (

    select
        claims.claim_id,
        claims.report_id,
        claims.metric,
        'voyage' as evidence_kind,
        voyages.voyage_id as evidence_id,
        voyages.arrival_date as evidence_date,
        cast(null as {{ dbt.type_string() }}) as waybill_no,
        cast(null as {{ dbt.type_string() }}) as container_no,
        cast(null as double) as gross_cargo_tonnes,
        voyages.vessel_name,
        voyages.source_file,
        voyages.source_row,
        voyages.file_sha256,
        voyages.is_synthetic

    from claims
    inner join voyages
        on voyages.arrival_date between claims.period_start and claims.period_end
    where claims.metric = 'shipments'

),

final as (

    select * from shipment_evidence
    union all
    select * from voyage_evidence

)

select * from final
