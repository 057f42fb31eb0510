// Docker's HEALTHCHECK: the node's GET /health on the port its HTTP API listens on (FLEET_HTTP),
// asked on loopback, which any bind address (127.0.0.1 or 0.0.0.0) answers with host networking.
const port = (process.env.FLEET_HTTP ?? "127.0.0.1:8477").split(":").pop();
try {
  const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(4000) });
  process.exit(r.ok ? 0 : 1);
} catch {
  process.exit(1);
}
