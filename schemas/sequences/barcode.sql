-- Lab barcodes are printed from this sequence; gaps are fine, reuse is not.
CREATE SEQUENCE genomics.sample_barcode_seq AS bigint;
