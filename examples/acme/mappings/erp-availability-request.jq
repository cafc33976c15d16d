# mfg.inventory.availability.query.v1 → the ERP's availability request
# (SAP-style field names). The query's own ids are left out, so the same
# question asked twice is the same request (and can be answered from the
# cache); the answer mapping puts queryId back.
.data
| {
    WERKS: .siteId,
    MATNR: .materialId,
    CHARG: .lotId,
    LGORT: .storageLocationId,
    STATUS: (.stockStatuses // ["UnRestricted"]),
    DATUM: .atDate
  }
| with_entries(select(.value != null))
