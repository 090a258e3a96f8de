/**
 * A plain `ws` broadcast server: the floor of the benchmark (`bench/systems/ws.ts`). Every message
 * from a client is sent to every other open client, exactly the broadcast example of the `ws`
 * README: no protocol, no storage, no acknowledgements, nothing cheaper can relay a message.
 *
 * Run: `node --import tsx bench/servers/ws-server.ts --port 41234`
 */
import { WebSocket, WebSocketServer } from 'ws';
import { exitOnSignal, parseListenArgs } from './args.js';

const { port, host } = parseListenArgs(process.argv.slice(2));
const wss = new WebSocketServer({ port, host, perMessageDeflate: false, maxPayload: 1024 * 1024 });

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client !== ws && client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
});

wss.on('listening', () => {
  process.stdout.write(`ws server listening on ${host}:${port}\n`);
});
exitOnSignal(
  () =>
    new Promise<void>((resolve) => {
      for (const client of wss.clients) client.terminate();
      wss.close(() => resolve());
    }),
);
