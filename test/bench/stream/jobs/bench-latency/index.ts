/**
 * The latency benchmark's job: counts events per group of 100 by sequence number, with the produce
 * time as event time, so the benchmark sees when each group becomes visible in Redis.
 */
import { defineJob } from '@sluice/core';

export default defineJob<{ seq?: unknown; produced?: unknown }>({
  name: 'bench-latency',
  series: { lat: { type: 'count', intervals: { minute: { step: 60 } } } },
  eventTime: (r) => (typeof r.produced === 'number' ? r.produced * 1000 : undefined),
  process(record, emit) {
    if (typeof record.seq !== 'number' || typeof record.produced !== 'number') throw new Error('seq and produced must be numbers');
    emit('lat', `lat.${Math.floor(record.seq / 100)}`, 1, record.produced * 1000);
  },
});
