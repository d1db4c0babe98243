"""Exact totals over valid current rows: the figures the pipeline must publish.

Aggregated per (is_explosive, month, route) so the scale mode can merge chunk by chunk.
"""

from __future__ import annotations

import polars as pl

from orchestration.generate.consignments import PERIOD_END, PERIOD_START


def aggregate(rows: pl.DataFrame) -> pl.DataFrame:
    """Shipments, kg and containers per (is_explosive, month, route): small and mergeable."""
    return rows.group_by(
        "is_explosive",
        pl.col("dispatch_date").dt.strftime("%Y-%m").alias("month"),
        pl.concat_str("origin_station_code", pl.lit("-"), "destination_station_code").alias(
            "route_id"
        ),
    ).agg(
        pl.len().alias("shipments"),
        pl.col("gross_kg").sum().alias("kg"),
        pl.col("container_no").count().alias("containers"),
    )


def totals(parts: list[pl.DataFrame]) -> dict:
    """Exact totals over valid current rows; tonnes = gross_weight (declared cargo mass) / 1000."""
    agg = (
        pl.concat(parts)
        .group_by("is_explosive", "month", "route_id")
        .agg(pl.col("shipments", "kg", "containers").sum())
    )

    def by(frame: pl.DataFrame, key: str) -> dict[str, dict[str, float | int]]:
        grouped = frame.group_by(key).agg(pl.col("shipments", "kg").sum()).sort(key)
        return {
            k: {"shipments": n, "tonnes": kg / 1000}
            for k, n, kg in grouped.select(key, "shipments", "kg").iter_rows()
        }

    explosive = agg.filter(pl.col("is_explosive"))
    background = agg.filter(~pl.col("is_explosive"))
    in_period = explosive.filter(
        pl.col("month").is_between(
            pl.lit(PERIOD_START.strftime("%Y-%m")), pl.lit(PERIOD_END.strftime("%Y-%m"))
        )
    )
    return {
        "tonnes_basis": "gross_weight of the consignment (declared cargo mass, no wagon tare) "
        "/ 1000, over valid current rows: quarantined, duplicate and superseded rows excluded",
        "shipments": int(agg["shipments"].sum()),
        "tonnes": int(agg["kg"].sum()) / 1000,
        "explosive": {
            "shipments": int(explosive["shipments"].sum()),
            "tonnes": int(explosive["kg"].sum()) / 1000,
            "tonnes_in_period": int(in_period["kg"].sum()) / 1000,
            "containers": int(explosive["containers"].sum()),
            "by_month": by(explosive, "month"),
            "by_route": by(explosive, "route_id"),
            "by_month_route": [
                {"month": m, "route_id": r, "shipments": n, "tonnes": kg / 1000}
                for m, r, n, kg in explosive.sort("month", "route_id")
                .select("month", "route_id", "shipments", "kg")
                .iter_rows()
            ],
        },
        "background": {
            "shipments": int(background["shipments"].sum()),
            "tonnes": int(background["kg"].sum()) / 1000,
            "by_route": by(background, "route_id"),
        },
    }
