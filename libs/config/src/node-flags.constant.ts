/**
 * Node flags every service runs with (start-all, the benches, the container image).
 *
 * Node 24's V8 sizes the young generation from the host's memory: up to 2 × 64 MB of semi-space on
 * a 24 GiB machine, where Node 20 stopped at 2 × 16 MB. For a service that allocates many short-lived
 * objects per message, that garbage alone was most of its RSS. Routing bench, large size, RSS peak:
 * 209 MB with the default, 202 MB at 16 MB, 164 MB at 8 MB, decisions/s unchanged within noise
 * (`node --max-semi-space-size=N dist/bench/routing.bench.js`). Scavenges get more frequent, each
 * one shorter.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
