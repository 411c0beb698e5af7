// Copy socket.io-client's ESM build from node_modules into the server's static files, so
// the widget and dashboard load it from the server itself (no CDN, no build step):
//   cd clients/js && npm install && npm run vendor
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..", "node_modules", "socket.io-client");
const target = join(here, "..", "..", "..", "web", "static", "vendor");
const source = readFileSync(join(pkg, "dist", "socket.io.esm.min.js"), "utf8");
// The source map is not vendored; drop the comment that points at it.
writeFileSync(join(target, "socket.io-client.esm.min.js"), source.replace(/\/\/# sourceMappingURL=\S+\s*$/, ""));
copyFileSync(join(pkg, "LICENSE"), join(target, "socket.io-client.LICENSE"));
console.log(`vendored socket.io-client ${JSON.parse(readFileSync(join(pkg, "package.json"))).version}`);
