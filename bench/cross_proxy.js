// A TCP proxy in front of two web processes, for bench/costs.py --cross: plain HTTP
// requests (the load generator's REST setup) go to the first; websocket upgrades alternate,
// first, second, first... The harness's load.js connects each pair's sender and then its
// receiver in the same tick, so every sender lands on the first process and every
// receiver on the second, and each message is delivered remotely, through Redis.
//
//   node cross_proxy.js PORT_A PORT_B     prints "listening <port>", then on SIGUSR2 (and
//                                          at exit) a JSON line of how many went where
'use strict';
const net = require('net');

const [portA, portB] = process.argv.slice(2).map(Number);
const counts = { http_a: 0, ws_a: 0, ws_b: 0 };
let nextWs = 0;

const server = net.createServer((client) => {
  client.once('data', (first) => {
    client.pause(); // until the upstream is connected: pipe() resumes it
    const head = first.toString('latin1', 0, Math.min(first.length, 2048)).toLowerCase();
    let port = portA;
    if (head.includes('upgrade: websocket')) {
      port = nextWs++ % 2 === 0 ? portA : portB;
      counts[port === portA ? 'ws_a' : 'ws_b']++;
    } else {
      counts.http_a++;
    }
    const upstream = net.connect(port, '127.0.0.1', () => {
      upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  client.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGUSR2', () => console.log(JSON.stringify(counts)));
process.on('SIGTERM', () => { console.log(JSON.stringify(counts)); process.exit(0); });
