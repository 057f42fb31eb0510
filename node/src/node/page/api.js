// The node's own HTTP API, as the page calls it. The page cookie (set by /?token=…) rides along
// on every call; POSTs add the header the node asks of cookie-authorized requests (http-api.ts).

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function call(path, init) {
  const res = await fetch(path, { cache: "no-store", ...init });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body.error ?? `HTTP ${res.status}`);
  return body;
}

export const getJson = (path) => call(path);

export const postJson = (path, body) => call(path, {
  method: "POST",
  headers: { "content-type": "application/json", "x-fleet-page": "1" },
  body: JSON.stringify(body),
});
