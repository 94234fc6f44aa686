// Readiness: a list of named checks run in parallel, each with a time limit. /readyz answers
// 200 when every check passes and 503 with the failing checks' reasons otherwise.

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves when healthy; throws (or rejects) with the reason otherwise. */
  run(): unknown | Promise<unknown>;
}

export interface CheckResult {
  ok: boolean;
  ms: number;
  error?: string;
}

export interface ReadinessReport {
  ready: boolean;
  /** "name: error; name: error" for the failing checks (absent when ready). */
  reason?: string;
  checks: Record<string, CheckResult>;
}

export async function runReadiness(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (c): Promise<[string, CheckResult]> => {
      const start = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        const limit = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        });
        await Promise.race([Promise.resolve().then(() => c.run()), limit]);
        return [c.name, { ok: true, ms: round(performance.now() - start) }];
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        return [c.name, { ok: false, ms: round(performance.now() - start), error }];
      } finally {
        if (timer) clearTimeout(timer);
      }
    }),
  );
  const checksOut: Record<string, CheckResult> = {};
  const failures: string[] = [];
  for (const [name, r] of results) {
    checksOut[name] = r;
    if (!r.ok) failures.push(`${name}: ${r.error}`);
  }
  return failures.length === 0 ? { ready: true, checks: checksOut } : { ready: false, reason: failures.join("; "), checks: checksOut };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
