// Waiting for a condition, never for a guessed duration: the check runs until it holds, and a
// deadline turns "never" into a failure that says what did not happen.

/** Resolves once `check` holds; throws naming `what` when it has not by the deadline. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((wait) => setTimeout(wait, intervalMs));
  }
}
