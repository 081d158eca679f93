//! BOLT12 invoice_request encoding (in progress).
