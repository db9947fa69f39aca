/** A provider's webhook as the demo's customers send it: built (and signed) first, then POSTed. */
export interface SignedWebhook {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** POSTs the webhook; an answer other than 2xx is an error naming the adapter's refusal. */
export async function postWebhook(webhook: SignedWebhook, what: string, timeoutMs = 10_000): Promise<void> {
  const response = await fetch(webhook.url, {
    method: 'POST',
    headers: webhook.headers,
    body: webhook.body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (response.ok) {
    await response.arrayBuffer();
    return;
  }
  const text = await response.text();
  throw new Error(`${what}: ${webhook.url} answered ${response.status} ${text.slice(0, 300)}`);
}
