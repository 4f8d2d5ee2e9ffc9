/** Free TCP ports on 127.0.0.1 for the private servers tests start. */
import { createServer } from 'node:net';

/** The first of `count` consecutive free ports, from a random base so parallel runs rarely meet. */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    let free = true;
    for (let port = base; port < base + count && free; port += 1) free = await isFree(port);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found between 20000 and 40000`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => done(true)));
  });
}
