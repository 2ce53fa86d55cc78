// The admin dashboard in headless Chromium (Debian's chromium, driven by playwright-core) against
// the real gateway: sign-in with the admin token, traffic on the overview, a broken plugin save
// and its fix on the plugins view, a request in the live tail with its per-plugin timings, a
// rejected reload on the config view. Every view is photographed into test-artifacts/dashboard/.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { projectRoot, startGatewayProcess, type GatewayProcess } from "./helpers/gateway.js";
import { startUpstream, type TestUpstream } from "./helpers/upstream.js";
import { closed, openSocket } from "./helpers/websocket-client.js";

const TOKEN = "dashboard-test-token-0123456789";
const artifacts = join(projectRoot, "test-artifacts/dashboard");

let dir: string;
let gateway: GatewayProcess;
let browser: Browser;
let page: Page;
/** A plain HTTP backend for the WebSocket adaptor route: it takes every connection and message. */
let backend: TestUpstream;

const stamp = `import { definePlugin } from "portcullis";

export default definePlugin({
  onRequest(request) {
    request.headers.set("x-stamp", "dashboard");
  },
});
`;

function config(extra = ""): string {
  return `admin: { token: ${TOKEN} }
upstreams:
  echo: { type: echo }
  chat: { targets: [{ url: "${backend.url}" }] }
apis:
  - name: chat
    basePath: /chat
    upstream: chat
    websocket: { mode: http }
  - name: canaried
    basePath: /canaried
    upstream: echo
    plugins: [{ name: stamp, canary: { share: 50 } }]
  - name: shop
    basePath: /shop
    upstream: echo
    plugins:
      - { name: stamp }
      - { name: headers, options: { response: { set: { x-served-by: portcullis } } } }
${extra}`;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-dashboard-"));
  backend = await startUpstream("chat");
  backend.handle = (_req, res) => {
    res.writeHead(204);
    res.end();
  };
  await mkdir(artifacts, { recursive: true });
  await writeFile(join(dir, "stamp.ts"), stamp);
  await writeFile(join(dir, "stamp.next.ts"), stamp.replace('"dashboard"', '"dashboard-next"'));
  gateway = await startGatewayProcess(config(), ["--plugins", dir]);
  browser = await chromium.launch({
    // Whichever chromium the test setup found on PATH (Debian's /usr/bin/chromium, or another).
    executablePath: execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim(),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
  await backend?.close();
  await rm(dir, { recursive: true, force: true });
});

async function traffic(count: number, headers: Record<string, string> = {}): Promise<void> {
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${gateway.url}/shop/items/${i}`, { headers });
    await response.arrayBuffer();
  }
}

async function view(name: string): Promise<void> {
  await page.click(`nav a[href="#${name}"]`);
  // The page marks the link current and the main area busy in one go when the hash changes (an
  // event after the click): wait for that first, else a previous view's "not busy" would do.
  await page.waitForSelector(`nav a[href="#${name}"][aria-current="page"]`);
  await page.waitForSelector('main[aria-busy="false"]');
}

describe("admin dashboard", () => {
  it("refuses the dashboard and its data without the admin token, and signs in with it", async () => {
    const denied = await page.goto(`${gateway.adminUrl}/`);
    assert.equal(denied?.status(), 401);
    assert.equal(await page.isVisible('input[type="password"]'), true, "a sign-in form instead");
    const data = await fetch(`${gateway.adminUrl}/stats`);
    assert.equal(data.status, 401);
    await page.fill("#token", "not-the-token");
    await page.click('button[type="submit"]');
    await page.waitForSelector('[role="alert"]');
    await page.fill("#token", TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForSelector('main[aria-busy="false"]');
    assert.equal(await page.textContent("h2"), "Overview");
  });

  it("the overview shows the traffic the test sends", async () => {
    await view("overview");
    await traffic(40);
    // The page refreshes every two seconds; its content is read from here (the dashboard's CSP forbids evaluated strings).
    const deadline = Date.now() + 10_000;
    while (Number(await page.textContent('[data-metric="rps"]')) <= 0) {
      assert.ok(Date.now() < deadline, "the requests/s card never showed the traffic");
      await new Promise((wait) => setTimeout(wait, 200));
    }
    assert.notEqual(await page.textContent('[data-metric="p50"]'), "–");
    assert.equal(await page.textContent('[data-metric="store"]'), "reachable");
    assert.equal(await page.locator("svg.chart polyline").count(), 2);
    // The chart's axes say what they measure and how far they go: req/s on the left, ms on the right, time below.
    assert.match((await page.textContent(".chart-frame .axis.left")) ?? "", /^\d+ req\/s/);
    assert.match((await page.textContent(".chart-frame .axis.right")) ?? "", /ms.*0 ms$/);
    assert.match((await page.textContent(".chart-frame .axis.bottom")) ?? "", /now$/);
    await page.screenshot({ path: join(artifacts, "overview.png"), fullPage: true });
  });

  it("the overview shows open WebSocket adaptor connections, and stops when they close", async () => {
    await view("overview");
    const socket = await openSocket(`ws://127.0.0.1:${gateway.port}/chat/room`);
    const row = page.locator("tbody tr", { hasText: "chat *" });
    await row.waitFor({ timeout: 10_000 });
    assert.equal(await page.textContent('[data-metric="adaptor"]'), "1");
    assert.match((await row.textContent()) ?? "", /127\.0\.0\.1/);
    await page.screenshot({ path: join(artifacts, "overview-websockets.png"), fullPage: true });
    socket.close();
    await closed(socket);
    await page.waitForSelector('[data-metric="adaptor"]:text-is("0")', { timeout: 10_000 });
    assert.equal(await row.count(), 0);
  });

  it("APIs and operations show each operation's plugin chain", async () => {
    await view("apis");
    const chain = page.locator('section.route[aria-label^="shop"] tbody tr');
    assert.equal(await chain.count(), 2);
    assert.match((await chain.nth(0).textContent()) ?? "", /stamp/);
    assert.match((await chain.nth(1).textContent()) ?? "", /headers.*x-served-by/);
    await page.screenshot({ path: join(artifacts, "apis.png"), fullPage: true });
  });

  it("the plugins view shows a canary's two versions side by side", async () => {
    for (let i = 0; i < 40; i++) await (await fetch(`${gateway.url}/canaried/x`)).arrayBuffer();
    await view("plugins");
    const row = page.locator("tr", { has: page.locator('[data-canary-state="stamp.next"]') });
    await row.waitFor({ timeout: 10_000 });
    assert.equal(await page.textContent('[data-canary-state="stamp.next"]'), "serving");
    const cells = await row.locator("td").allTextContents();
    assert.equal(cells[2], "50 %");
    assert.ok(Number(cells[4]) > 0 && Number(cells[7]) > 0, `both versions served: ${cells.join(" | ")}`);
    assert.equal(Number(cells[4]) + Number(cells[7]), 40);
    await page.screenshot({ path: join(artifacts, "plugins-canary.png"), fullPage: true });
  });

  it("a broken plugin save shows its error with file and line within seconds; the fix clears it", async () => {
    await view("plugins");
    await page.waitForSelector('[data-plugin-state="stamp"]');
    assert.equal(await page.textContent('[data-plugin-state="stamp"]'), "live");
    await writeFile(join(dir, "stamp.ts"), stamp.replace('request.headers.set("x-stamp", "dashboard");', 'request.headers.set("x-stamp", "dashboard")) ;'));
    await page.waitForSelector('[data-plugin-error="stamp"]', { timeout: 10_000 });
    const error = (await page.textContent('[data-plugin-error="stamp"]')) ?? "";
    assert.match(error, /stamp\.ts:5:\d+/, error);
    assert.equal(await page.textContent('[data-plugin-state="stamp"]'), "live, last change rejected");
    await page.screenshot({ path: join(artifacts, "plugins-error.png"), fullPage: true });
    await writeFile(join(dir, "stamp.ts"), stamp);
    await page.waitForSelector('[data-plugin-error="stamp"]', { state: "detached", timeout: 10_000 });
    assert.equal(await page.textContent('[data-plugin-state="stamp"]'), "live");
    await page.screenshot({ path: join(artifacts, "plugins.png"), fullPage: true });
  });

  it("a request sent by the test appears in the live tail with its per-plugin timings", async () => {
    await view("requests");
    const id = `dashboard-${Date.now()}`;
    await traffic(1, { "x-request-id": id });
    const button = page.locator(`[data-request="${id}"]`);
    await button.waitFor({ timeout: 10_000 });
    await button.click();
    await page.waitForSelector(`[data-detail="${id}"]`);
    const rows = page.locator(`[data-detail="${id}"] tbody tr`);
    const texts = await rows.allTextContents();
    assert.ok(
      texts.some((text) => /^stamp\s*request\s*continue/.test(text)),
      texts.join(" | "),
    );
    assert.ok(
      texts.some((text) => /^headers\s*response\s*continue/.test(text)),
      texts.join(" | "),
    );
    await page.screenshot({ path: join(artifacts, "requests.png"), fullPage: true });
  });

  it("the config view shows the running config, redacted, and a rejected reload's errors", async () => {
    const mark = gateway.logs.length;
    await gateway.writeConfig(config("  - { name: broken, upstream: nowhere }\n"));
    await gateway.waitForLog((line) => line.msg === "config rejected; the previous config keeps serving", 10_000, mark);
    await view("config");
    const reloads = page.locator("tbody tr");
    await reloads.first().waitFor();
    assert.match((await reloads.first().textContent()) ?? "", /rejected.*no upstream named 'nowhere'/);
    assert.match((await page.textContent("pre")) ?? "", /"token": "\[redacted\]"/);
    await page.screenshot({ path: join(artifacts, "config.png"), fullPage: true });
  });

  it("works at phone width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await view("overview");
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    await page.screenshot({ path: join(artifacts, "overview-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
