/**
 * Get-or-create for prom-client metrics on the default registry: a module loaded twice (tests,
 * hot paths that import lazily) reuses the registered metric instead of throwing "already registered".
 */
import { Counter, Gauge, Histogram, register } from 'prom-client';

export function counter(name: string, help: string, labelNames: string[]): Counter {
  return (register.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, labelNames });
}

export function histogram(name: string, help: string, labelNames: string[], buckets: number[]): Histogram {
  return (register.getSingleMetric(name) as Histogram | undefined) ?? new Histogram({ name, help, labelNames, buckets });
}

/** A gauge read at scrape time from `collect` (the current value lives elsewhere, e.g. a map's size). */
export function gauge(name: string, help: string, labelNames: string[], collect?: (gauge: Gauge) => void): Gauge {
  return (
    (register.getSingleMetric(name) as Gauge | undefined) ??
    new Gauge({ name, help, labelNames, ...(collect ? { collect(this: Gauge) { collect(this); } } : {}) })
  );
}
