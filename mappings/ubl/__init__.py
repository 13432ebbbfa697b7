"""UBL 2.0-2.3 and PEPPOL BIS 3 Order, OrderResponse(Simple), DespatchAdvice -> canonical
documents."""
