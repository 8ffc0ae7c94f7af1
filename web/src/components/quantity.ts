// Kubernetes quantities ("500m", "2", "16Gi") as numbers, for usage bars.
const suffixes: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50,
};

/** quantity returns q as a number, NaN when it is not a quantity. */
export function quantity(q?: string): number {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q ?? '');
  if (!m || !(m[2] in suffixes)) return NaN;
  return Number(m[1]) * suffixes[m[2]];
}
