"""cXML 1.2.x OrderRequest, ConfirmationRequest and ShipNoticeRequest -> canonical documents."""
