/**
 * Opens many idle WebSocket connections for `npm run bench live`, in a process of its own so
 * the server's memory is measured without the clients'. argv: url count [bearer token].
 * Prints `ready <opened>` once every connection received its first message, then holds them
 * until stdin closes.
 */
import WebSocket from 'ws';

const [url = '', countText = '0', token] = process.argv.slice(2);
const count = Number(countText);
const concurrency = 64;
const sockets: WebSocket[] = [];
let next = 0;
let failed = 0;

function openOne(): Promise<void> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const ws = new WebSocket(url, { headers });
    ws.once('message', () => {
      sockets.push(ws);
      resolve();
    });
    ws.once('error', () => {
      failed++;
      resolve();
    });
    ws.once('close', () => {
      resolve();
    });
  });
}

async function worker(): Promise<void> {
  while (next < count) {
    next++;
    await openOne();
  }
}

await Promise.all(Array.from({ length: concurrency }, () => worker()));
console.log(`ready ${sockets.length} failed ${failed}`);
process.stdin.resume();
process.stdin.on('end', () => {
  for (const ws of sockets) ws.terminate();
  process.exit(0);
});
