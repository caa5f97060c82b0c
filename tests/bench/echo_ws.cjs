// Node `ws` echo server for the end-to-end benchmark: 127.0.0.1, port from
// argv[2] (0: ephemeral); prints "listening on PORT"; echoes every message
// with its type. Stopped by tests/bench/run.sh, which started it.
'use strict';
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2] || 0),
                                  perMessageDeflate: false });
wss.on('listening', () => { console.log('listening on ' + wss.address().port); });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => { ws.send(data, { binary: isBinary }); });
});
