/**
 * Node flags every service runs with (start-all, the benches, the container image).
 *
 * Node 24's V8 sizes its heap from the host's memory. The young generation: up to 2 × 64 MB of
 * semi-space on a 24 GiB machine, where Node 20 stopped at 2 × 16 MB; for a service that allocates
 * many short-lived objects per message, that garbage alone was most of its RSS (routing bench, large
 * size: 209 MB RSS with the default, 164 MB at 8 MB, decisions/s unchanged within noise). The old
 * generation: with a heap limit of gigabytes, V8 lets it grow to three times what is live before a
 * full collection; over 12,000 decisions the router's RSS went to 238–246 MB with 45 MB live. With
 * any explicit limit (128 to 384 MB gave the same) it stays near 146 MB, for 5–8 % fewer decisions/s
 * (more frequent full collections). 192 MB leaves four times the router's live heap and stays inside
 * the 256 Mi the Kubernetes manifests give each service, so V8 collects before the kernel kills.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--max-old-space-size=192'];
