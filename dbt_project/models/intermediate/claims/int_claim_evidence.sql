{#- Traceability: exactly the shipment rows (tonnes, rounds, containers) or voyages (shipments)
    that feed each claim's computed figure, with their provenance. -#}
with

periods as (

    select * from {{ ref('int_resolved_claim_periods') }}

),

shipments as (

    select * from {{ ref('fct_shipments') }}
    where is_explosive

),

voyages as (

    select * from {{ ref('int_paired_voyages') }}

),

shipment_evidence as (

    select
        periods.claim_id,
        periods.metric,
        'shipment' as evidence_kind,
        shipments.shipment_id as evidence_id,
        shipments.dispatch_date as evidence_date,
        shipments.waybill_no,
        shipments.container_no,
        shipments.gross_cargo_tonnes,
        cast(null as {{ dbt.type_string() }}) as vessel_name,
        shipments.source_file,
        shipments.source_row,
        shipments.file_sha256

    from periods
    inner join shipments
        on shipments.dispatch_date between periods.effective_start and periods.effective_end
    where periods.evidence_source = 'manifests'

),

voyage_evidence as (

    select
        periods.claim_id,
        periods.metric,
        'voyage' as evidence_kind,
        voyages.voyage_id as evidence_id,
        voyages.arrival_date as evidence_date,
        cast(null as {{ dbt.type_string() }}) as waybill_no,
        cast(null as {{ dbt.type_string() }}) as container_no,
        cast(null as double) as gross_cargo_tonnes,
        voyages.vessel_name,
        voyages.source_file,
        voyages.source_row,
        voyages.file_sha256

    from periods
    inner join voyages
        on voyages.arrival_date between periods.effective_start and periods.effective_end
    where periods.evidence_source = 'voyages'

),

final as (

    select * from shipment_evidence
    union all
    select * from voyage_evidence

)

select * from final
