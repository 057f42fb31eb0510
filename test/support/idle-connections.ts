// A hostile HTTP client in its own process (run it in a namespace with netlab's spawn): holds N TCP
// connections to host:port open without sending a byte, reopening each one the server closes after
// a pause, so the server faces N silent connections for as long as this runs.
//
//   node dist/test/support/idle-connections.js <host> <port> <n>
//
// Prints JSON lines: {"ev":"holding","open":k,"closedByServer":c,"refused":r} once a second.

import { connect } from "node:net";

const [host, portArg, nArg] = process.argv.slice(2);
const port = Number(portArg);
const n = Number(nArg);
if (!host || !(port > 0) || !(n > 0)) {
  process.stderr.write("usage: idle-connections <host> <port> <n>\n");
  process.exit(2);
}

const REOPEN_AFTER_MS = 200;
let open = 0;
let closedByServer = 0;
let refused = 0;

function hold(): void {
  const s = connect(port, host!);
  let connected = false;
  s.on("connect", () => { connected = true; open++; });
  s.on("error", () => { if (!connected) refused++; });
  s.on("close", () => {
    if (connected) { open--; closedByServer++; }
    setTimeout(hold, REOPEN_AFTER_MS);
  });
}

for (let i = 0; i < n; i++) hold();
setInterval(() => process.stdout.write(JSON.stringify({ ev: "holding", open, closedByServer, refused }) + "\n"), 1000);
