// Looks the caller up in a profile service and forwards what it says upstream, as headers.
// The service's base URL comes from the PROFILE_URL environment variable; the plugin may only
// fetch from loopback hosts (permissions.fetch) and read that one variable (permissions.env).
//   plugins: [{ name: user-profile }]    with PROFILE_URL=http://127.0.0.1:9000
import { definePlugin } from "portcullis";

interface Profile {
  tier: string;
  country?: string;
}

export default definePlugin({
  permissions: { fetch: ["127.0.0.1", "localhost", "[::1]"], env: ["PROFILE_URL"] },
  limits: { timeoutMs: 200 },
  async onRequest(request, ctx) {
    const user = request.headers.get("x-user-id");
    const base = ctx.env.PROFILE_URL;
    if (!user || !base) return;
    const answer = await ctx.fetch(new URL(`/profiles/${encodeURIComponent(user)}`, base).href);
    if (answer.status === 404) return { status: 403, body: { error: "unknown user" } };
    if (!answer.ok) throw new Error(`profile service answered ${answer.status}`);
    const profile = answer.json<Profile>();
    request.headers.set("x-user-tier", profile.tier);
    if (profile.country) request.headers.set("x-user-country", profile.country);
  },
});
