/**
 * Web chat: visitors talk to agents live from an embeddable widget, over socket.io on this adapter's
 * HTTP server. A visitor is a signed token (POST /webchat/visitors), kept by the widget; each visitor
 * has one open conversation at a time (the thread key is the visitor id). Customer messages go in
 * through the kit like any webhook (published with confirms before the visitor's send is
 * acknowledged). Replies need no provider call: the router already stored them, each replica relays
 * them live to its sockets (live-feed.ts), and a visitor who was away gets them on resume. Replies in
 * a conversation that became a message thread are also emailed when the visitor left an address.
 */
import { z } from 'zod';
import { envTypes } from '@app/config';
import { defineAdapter, type OutboundItem } from '@app/channel-kit';
import { LiveFeed } from './live-feed';
import { liveRelay } from './live-relay';
import { allowCrossOriginTokenRequests, parseOrigins } from './origins';
import { ReplyMailer } from './reply-mailer';
import { VisitorSockets } from './visitor-sockets';
import { VisitorStore } from './visitor-store';
import { issueVisitorToken } from './visitor-token';
import { readWidgetAssets } from './widget-assets';

const VISITORS_PATH = '/webchat/visitors';

const env = z.object({
  WEBCHAT_TOKEN_SECRET: z.string().min(32, { error: 'expected at least 32 characters (the HMAC key of visitor tokens)' }),
  WEBCHAT_ALLOWED_ORIGINS: z
    .string()
    .default('*')
    .refine(
      (value) => {
        try {
          parseOrigins(value);
          return true;
        } catch {
          return false;
        }
      },
      { error: 'expected * or a comma-separated list of origins such as https://shop.example.com' },
    ),
  /** Both or neither: replies to visitors who left an email and went away are emailed through this relay. */
  SMTP_OUT_URL: envTypes.url(['smtp:', 'smtps:'], 'smtp://user:pass@smtp.example.com:587').optional(),
  EMAIL_FROM: z.string().min(3, { error: 'expected the sender, e.g. "Support <support@example.com>"' }).optional(),
});

export const webchatAdapter = defineAdapter({
  channel: 'webchat',
  env,
  create({ env: config, ingest, broker }) {
    // The kit merges only the schema's shape into its own, so this cross-field rule is checked here.
    if (Boolean(config.SMTP_OUT_URL) !== Boolean(config.EMAIL_FROM)) throw new Error('set both SMTP_OUT_URL and EMAIL_FROM, or neither');
    const assets = readWidgetAssets();
    const origins = parseOrigins(config.WEBCHAT_ALLOWED_ORIGINS);
    let running: { store: VisitorStore; feed: LiveFeed; sockets: VisitorSockets; mailer?: ReplyMailer } | undefined;

    return {
      routes: [
        {
          method: 'POST',
          path: VISITORS_PATH,
          handle: () => ({
            response: { status: 201, contentType: 'application/json', body: JSON.stringify(issueVisitorToken(config.WEBCHAT_TOKEN_SECRET)) },
          }),
        },
        {
          method: 'GET',
          path: '/webchat/widget.js',
          handle: () => ({ response: { status: 200, contentType: 'application/javascript; charset=utf-8', body: assets.widget } }),
        },
        {
          method: 'GET',
          path: '/webchat/demo',
          handle: () => ({ response: { status: 200, contentType: 'text/html; charset=utf-8', body: assets.demo } }),
        },
      ],

      async start({ httpServer }) {
        const store = new VisitorStore(config.DATABASE_URL, config.TENANT_ID);
        const sockets: VisitorSockets = new VisitorSockets({
          secret: config.WEBCHAT_TOKEN_SECRET,
          tenantId: config.TENANT_ID,
          origins,
          store,
          ingest,
          publishTyping: (signal) => feed.publishTyping(signal),
        });
        const feed = new LiveFeed(broker, liveRelay(config.TENANT_ID, store, sockets));
        allowCrossOriginTokenRequests(httpServer, origins, VISITORS_PATH);
        sockets.attach(httpServer);
        await feed.start();
        const mailer =
          config.SMTP_OUT_URL && config.EMAIL_FROM
            ? new ReplyMailer({ smtpUrl: config.SMTP_OUT_URL, from: config.EMAIL_FROM, timeoutMs: config.SEND_TIMEOUT_MS }, store, (visitorId) =>
                sockets.isConnectedHere(visitorId),
              )
            : undefined;
        running = { store, feed, sockets, mailer };
      },

      async stop() {
        const current = running;
        running = undefined;
        if (!current) return;
        current.sockets.close();
        await current.feed.stop();
        current.mailer?.close();
        await current.store.close();
      },

      async send(item: OutboundItem) {
        if (item.kind === 'reply') await running?.mailer?.maybeEmail(item);
        return { providerMessageId: item.id };
      },
    };
  },
});
