/**
 * Get-or-create for prom-client metrics on the default registry: a module loaded twice (tests,
 * hot paths that import lazily) reuses the registered metric instead of throwing "already registered".
 */
import { Counter, Histogram, register } from 'prom-client';

export function counter(name: string, help: string, labelNames: string[]): Counter {
  return (register.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, labelNames });
}

export function histogram(name: string, help: string, labelNames: string[], buckets: number[]): Histogram {
  return (register.getSingleMetric(name) as Histogram | undefined) ?? new Histogram({ name, help, labelNames, buckets });
}
