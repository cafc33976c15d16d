# mfg.productionorder.release.v1 → the release document of the plant-1010
# MES (its own field names). The command's id goes along as commandId; the
# hub also sends it as Idempotency-Key, which the MES de-duplicates on.
.data as $d
| {
    commandId: .id,
    orderNumber: $d.orderId,
    orderType: $d.erpOrderType,
    plant: $d.siteId,
    material: $d.materialId,
    quantity: $d.plannedQty.value,
    unit: $d.plannedQty.uom,
    start: $d.plannedStart,
    end: $d.plannedEnd,
    revision: $d.revision,
    operations: [$d.operations[] | {operation: .operationId, workCenter: .workCenterId, quantity: .plannedQty.value}],
    components: [($d.components // [])[] | {material: .materialId, quantity: .qty.value, unit: .qty.uom}]
  }
