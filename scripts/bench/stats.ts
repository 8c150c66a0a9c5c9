/** Small statistics helpers for the benchmark: latency samples, percentiles, medians. */

/** Growable buffer of latency samples in milliseconds (Float64Array, no per-sample objects). */
export class Samples {
  private data = new Float64Array(1024);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = ms;
  }

  addAll(other: Samples): void {
    for (let i = 0; i < other.n; i++) {
      this.add(other.data[i] as number);
    }
  }

  get count(): number {
    return this.n;
  }

  /** p50/p95/p99/max (nearest-rank) of everything added so far; zeros when empty. */
  summary(): LatencySummary {
    if (this.n === 0) {
      return { count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 };
    }
    const sorted = this.data.slice(0, this.n).sort();
    let sum = 0;
    for (const v of sorted) {
      sum += v;
    }
    return {
      count: this.n,
      p50: rank(sorted, 0.5),
      p95: rank(sorted, 0.95),
      p99: rank(sorted, 0.99),
      max: sorted[this.n - 1] ?? 0,
      mean: sum / this.n,
    };
  }
}

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

function rank(sorted: Float64Array, q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? 0;
}

/** Median of the finite values (mean of the middle two for an even count); NaN when none. */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) {
    return Number.NaN;
  }
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1
    ? (v[mid] as number)
    : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** Percentile (nearest rank) of a plain array. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) {
    return Number.NaN;
  }
  return rank(Float64Array.from(values).sort(), q);
}

export function ratio(service: number, ceiling: number): number {
  return ceiling > 0 && Number.isFinite(service) ? service / ceiling : Number.NaN;
}
