/**
 * What a Kafka sink asks the Kafka source about an item in flight: the input message's key, and
 * whether its partition is still this consumer's (a revoked partition's results are dropped: the
 * new owner re-reads them from the committed offset).
 * @category sources
 */
export interface KafkaRecordOrigin {
  /** `undefined` for a `seq` that did not come from this source or was already committed. */
  recordOf(seq: number): { readonly key: Buffer | null; readonly current: boolean } | undefined;
}
