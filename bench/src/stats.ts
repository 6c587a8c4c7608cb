/** Median, min and max of a set of rounds: what every table reports. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function spread(values: readonly number[]): Spread {
  return {
    median: median(values),
    min: values.length ? Math.min(...values) : NaN,
    max: values.length ? Math.max(...values) : NaN,
    values: [...values],
  };
}

export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : NaN;
}

/**
 * The least-squares slope of `y` over `x` through `points`: how fast a quantity grows per unit, read from
 * every sample at once, so one sample that happens to sit high or low moves it little.
 */
export function leastSquaresSlope(points: ReadonlyArray<readonly [x: number, y: number]>): number {
  if (points.length < 2) throw new Error('a slope needs at least two points');
  const meanX = mean(points.map(([x]) => x));
  const meanY = mean(points.map(([, y]) => y));
  let covariance = 0;
  let varianceX = 0;
  for (const [x, y] of points) {
    covariance += (x - meanX) * (y - meanY);
    varianceX += (x - meanX) ** 2;
  }
  if (varianceX === 0) throw new Error('a slope needs points at two x values at least');
  return covariance / varianceX;
}

/** The value at `fraction` (0..1) of an ascending array, nearest rank. */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))];
}

/**
 * The rate a server saw, as the mean number of `times` falling in a window of `windowMs` (the server's own
 * window), over every window that starts between the first time and `windowMs` before the last one; in
 * requests per window. It is exact (no sampling): each time counts for the stretch of window starts that
 * contain it. Unlike "count / (last - first)" it does not depend on the shape of the pacing: a client that
 * sends `limit` at once every window and one that spaces them evenly both score the limit, and every gap
 * between windows shows up as a loss.
 */
export function meanWindowOccupancy(times: readonly number[], windowMs: number): number {
  if (times.length === 0) return 0;
  const sorted = [...times].sort((a, b) => a - b);
  const first = sorted[0];
  const lastStart = sorted[sorted.length - 1] - windowMs;
  if (lastStart <= first) return sorted.length;
  let covered = 0;
  for (const time of sorted) {
    // Window starts t in [first, lastStart] with t <= time < t + windowMs.
    const from = Math.max(first, time - windowMs);
    const to = Math.min(lastStart, time);
    if (to > from) covered += to - from;
  }
  return covered / (lastStart - first);
}

/** The most `times` inside any window `[t, t + windowMs)`. */
export function busiestWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end] - sorted[start] >= windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}
