// Child process for the invalidation-latency benchmark: serves and observes one memoised
// result, and prints "value <v>" each time it (re-)emits. Usage: node observer.mjs REDIS_URL
import { connect } from '../../dist/esm/index.js';

const store = connect(process.argv[2]);
let version = 0;
const live = store.memo('bench.live', (k) => `${k}:${++version}`, { ttlSeconds: 600 });
store.serve(live);
live.observe('x').subscribe((value) => process.stdout.write(`value ${value}\n`));
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), 120_000).unref();
