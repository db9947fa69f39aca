/**
 * The HTTP plumbing every local provider fake shares: a server on 127.0.0.1 with an ephemeral port,
 * each request read whole before it is handled, JSON answers, and a queue of scripted answers that
 * the next accepted requests get in order. A fake adds only what its provider checks and how it
 * answers.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/** A request as a fake sees it: the body already read, as text. */
export interface ProviderRequest {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Reply = (status: number, body: unknown, headers?: Record<string, string>) => void;

/** The header a provider sends with a throttling answer, when the script asks for one. */
export function retryAfterHeader(seconds: number | undefined): Record<string, string> {
  return seconds === undefined ? {} : { 'retry-after': String(seconds) };
}

/** The parsed JSON body, or undefined when it is not JSON (every provider refuses that its own way). */
export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

export abstract class FakeHttpProvider<Answer> {
  /** Answers for the next accepted requests, in order; when empty, the provider's success. */
  readonly script: Answer[] = [];
  private readonly server: Server;

  protected constructor(contentType = 'application/json') {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const reply: Reply = (status, body, headers = {}) => {
          response.writeHead(status, { 'content-type': contentType, ...headers });
          response.end(JSON.stringify(body));
        };
        const { method, url, headers } = request;
        this.handle({ method, url, headers, body: Buffer.concat(chunks).toString('utf8') }, reply);
      });
    });
  }

  get url(): string {
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Starts listening; a fake's static start() returns this. */
  protected async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  /** Checks the request as the provider would and answers it exactly once through `reply`. */
  protected abstract handle(request: ProviderRequest, reply: Reply): void;
}
