// Node `ws` echo server for the end-to-end benchmark: 127.0.0.1, port from
// argv[2] (0: ephemeral); prints "listening on PORT"; echoes every message
// with its type. Stopped by tests/bench/run.sh, which started it.
'use strict';
const { WebSocketServer } = require('ws');
// ECHO_WS_DEFLATE=1: permessage-deflate on, every message compressed
// (threshold 0) at zlib's level 6 (wick's default), other options ws's
// defaults (windows 15, memLevel 8, context takeover).
const deflate = process.env.ECHO_WS_DEFLATE === '1'
  ? { threshold: 0, zlibDeflateOptions: { level: 6 } } : false;
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2] || 0),
                                  perMessageDeflate: deflate });
wss.on('listening', () => { console.log('listening on ' + wss.address().port); });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => { ws.send(data, { binary: isBinary }); });
});
