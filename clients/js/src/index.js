// The client library with socket.io-client plugged in. In a browser without a bundler, map
// "socket.io-client" to its ESM build with an import map (the server's pages do).
import { io } from "socket.io-client";
import { ChatClient } from "./core.js";

export * from "./core.js";

/** A ChatClient that talks to `baseUrl` (default: the page's own origin). */
export function createClient(options = {}) {
  return new ChatClient({ io, ...options });
}
