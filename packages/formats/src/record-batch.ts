/**
 * What every format's split reader yields: a run of consecutive records with their positions, so
 * the runtime can cut chunks at record boundaries and resume after any of them.
 */
import type { DeadLetter } from '@sluice/core';
import type { DecodedRecord } from './line-decoder.ts';

/** A run of consecutive records of a split. */
export interface RecordBatch {
  records: DecodedRecord[];
  /**
   * Position of each record, increasing: the byte offset where its line starts (for gzip, the
   * offset in the uncompressed stream); for Parquet, its row index in the file.
   */
  offsets: number[];
  /** Lines that did not decode, with provenance `${url}@${offset}`, in offset order. */
  deadLetters: DeadLetter[];
  /** Position just after the last record consumed: where a resume after this batch starts. */
  endOffset: number;
  /**
   * Bytes of the file consumed by this batch, the unit of a run's total: for plain text, the bytes
   * of its lines, blank and header lines included; for gzip, the compressed bytes fed to the
   * decompressor since the previous batch (a whole read sums to the file size); for Parquet, its
   * rows' share of the compressed column chunks read.
   */
  bytes: number;
  /** Names the input these offsets belong to, when it is not the split's own (splits run together). */
  url?: string;
}
