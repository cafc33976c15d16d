# mfg.material.consumed.v1 → the ERP's goods-movement document (SAP-style
# field names). Quantities go in the ERP's own unit codes.
def erp_unit: {"KGM": "KG", "GRM": "G", "LBR": "LB", "C62": "ST", "LTR": "L"}[.] // error("no ERP unit for \(.)");

.data as $d
| {
    BWART: "261",
    WERKS: $d.siteId,
    AUFNR: $d.orderId,
    VORNR: $d.operationId,
    MATNR: $d.materialId,
    MENGE: $d.qty.value,
    MEINS: ($d.qty.uom | erp_unit),
    BUDAT: $d.occurredAt,
    EXTID: .id
  }
  + (if $d.lotId then {CHARG: $d.lotId} else {} end)
  + (if $d.storageLocationId then {LGORT: $d.storageLocationId} else {} end)
