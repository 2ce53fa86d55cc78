// The dashboard's files, served by the admin listener: the page and its bundle, built into
// dist/dashboard by `npm run build` (esbuild, from src/admin/dashboard/). And its sign-in page: a
// browser cannot send the admin token as a bearer header with a page load, so a form posts it once
// and gets a session cookie (auth.ts).
import { readFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Context } from "koa";

const root = resolve(fileURLToPath(import.meta.url), "../../../dashboard");
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
};

export async function serveDashboard(ctx: Context, file: string): Promise<void> {
  if (!/^[a-z0-9-]+\.(html|js|css|map)$/.test(file)) {
    ctx.status = 404;
    return;
  }
  try {
    ctx.body = await readFile(resolve(root, file));
  } catch {
    ctx.status = 404;
    ctx.type = "text/plain";
    ctx.body = "the dashboard is not built: run npm run build";
    return;
  }
  ctx.type = TYPES[extname(file)];
  ctx.set("cache-control", "no-cache");
  ctx.set(
    "content-security-policy",
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  );
  ctx.set("x-content-type-options", "nosniff");
}

/** A form body of a few kilobytes at most. */
export function readSmallBody(req: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      text += chunk;
      if (text.length > 4096) req.destroy(new Error("form too large"));
    });
    req.on("end", () => done(text));
    req.on("error", fail);
  });
}

export function loginPage(failed: boolean): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Portcullis admin: sign in</title>
<style>
body { font-family: system-ui, sans-serif; color: #1b1f24; margin: 0; }
.login { max-width: 22rem; margin: 4rem auto; padding: 0 1rem; }
label { display: block; font-weight: 600; margin: 1rem 0 0.25rem; }
input { width: 100%; padding: 0.5rem; font-size: 1rem; box-sizing: border-box; border: 1px solid #57606a; border-radius: 6px; }
button { margin-top: 1rem; padding: 0.5rem 1rem; font-size: 1rem; background: #0b4f9c; color: #fff; border: none; border-radius: 6px; }
.error { color: #a40e26; }
:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
</style></head>
<body>
<main class="login">
  <h1>Portcullis</h1>
  <form method="post" action="/login">
    <label for="token">Admin token</label>
    <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
    ${failed ? '<p class="error" role="alert">That token is not the admin token.</p>' : ""}
    <button type="submit">Sign in</button>
  </form>
</main>
</body>
</html>
`;
}
