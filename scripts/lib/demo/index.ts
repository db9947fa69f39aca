/**
 * The demo driver: customers on several channels, scripted agents and a narrated scenario, against a
 * running system. `npm run demo` (scripts/demo.ts) is one user; end-to-end tests import the pieces.
 * Nothing here touches process-global state (no signal handlers, no environment reads, no console):
 * everything takes its base URLs and options, and everything started has a `stop()`.
 *
 * Customers (each resolves once the adapter accepted the webhook / the broker has the message):
 *   sendSms(endpoint: SmsEndpoint, { from, text, messageSid? }): Promise<{ messageSid }>
 *       Twilio form webhook, X-Twilio-Signature by the channel kit's `twilioSignature`
 *   sendWhatsApp(endpoint: WhatsAppEndpoint, { from, name?, text, id? }): Promise<{ id }>
 *       Cloud API notification, X-Hub-Signature-256 by the channel kit's `metaSignature`
 *   sendTelegram(endpoint: TelegramEndpoint, { chatId, firstName?, text }): Promise<void>
 *   smsWebhook / whatsAppWebhook / telegramWebhook: the same requests, built but not sent
 *   startWebchatVisitor({ url, label?, feed? }): Promise<WebchatVisitor>
 *       visitor.send(text); visitor.waitForReply(pred?, ms?) / waitForNotice(pred?, ms?) /
 *       waitForAgent(ms?) / waitForClosed(ms?); visitor.replies, .notices, .conversationId; stop()
 *
 * Agents (REST + socket `/agent` with a token from `mintToken`):
 *   startScriptedAgent({ gatewayUrl, agentId, token, behaviour?, feed? }): Promise<AgentSession>
 *       accepts offers, greets, answers, closes after a while; session.held, reply(), close(), stop()
 *   watchAgent({ gatewayUrl, agentId, token, feed? }): Promise<AgentSession>  online + heartbeats only
 *   clearAgentWork(client: GatewayClient): Promise<number>  declines offers, closes held work
 *
 * Setup and observation:
 *   demoSeed(options?) → DemoSeed (pure); applyDemoSeed(admin: GatewayClient, seed); parkDemoQueues(admin, seed)
 *   devTokenSettings(env?, tenant?), mintToken(settings, agentId, role), deskLink(deskUrl, token)
 *   channelEndpoints(endpoints, adapterSettings, env?, smsPublicUrl?) with readAdapterSettings(path)
 *   watchStats({ gatewayUrl, token, queueIds, agentIds, feed? }): Promise<StatsWatch>  supervisor view
 *   probeSystem(services) / startSystem({ startAllPath, logFile }) / waitForSystem(services, { exited })
 *   DemoFeed: every piece reports to it; feed.waitFor(kind, predicate?, what?, ms?) awaits an event
 *
 * The scenario and the whole demo:
 *   demoTimeline(options?) → ScenarioStep[] (pure); runScenario(context, options?) → RunningScenario
 *   startDemo(options): Promise<RunningDemo>  seed + agents + stats + scenario + narration; stop() → summary
 */
export { clearAgentWork, SCRIPTED_BEHAVIOUR, startAgentSession, startScriptedAgent, watchAgent, AgentSession } from './agent-session';
export type { AgentBehaviour, AgentSessionOptions, DelayRange, HeldConversation } from './agent-session';
export { CustomerDirectory, type KnownCustomer } from './customer-directory';
export { DEMO_USAGE, DemoArgsError, parseDemoArgs, type DemoArgs } from './demo-args';
export { channelEndpoints, DEFAULT_ENDPOINTS, readAdapterSettings } from './demo-endpoints';
export type {
  AdapterSettings,
  ChannelEndpoints,
  DemoEndpoints,
  DemoService,
  SmsEndpoint,
  TelegramEndpoint,
  WebchatEndpoint,
  WhatsAppEndpoint,
} from './demo-endpoints';
export { DemoFeed, type DemoEvent, type DemoEventOf, type StampedEvent } from './demo-feed';
export { startDemo, type DemoResult, type DemoRunOptions, type DeskLinkInfo, type RunningDemo } from './demo-run';
export { cycleLength, demoTimeline, LABELS, runScenario } from './demo-scenario';
export type { AsyncChannel, DemoCustomer, RunningScenario, ScenarioContext, ScenarioOptions, ScenarioStep, TimelineOptions } from './demo-scenario';
export { agentsOf, applyDemoSeed, DEMO_QUEUES, DEMO_SKILL, demoSeed, parkDemoQueues } from './demo-seed';
export type { AgentBody, DemoRole, DemoSeed, DemoSeedOptions, QueueBody } from './demo-seed';
export { deskLink, devTokenSettings, mintToken, type TokenSettings } from './demo-tokens';
export { GatewayClient, GatewayError } from './gateway-client';
export { describeEvent, Narrator, summarize, type DemoSummary, type NarrationLevel, type NarratorOptions } from './narrator';
export { postWebhook, type SignedWebhook } from './signed-webhook';
export { sendSms, smsWebhook, type SmsMessage } from './sms-customer';
export { StatsWatch, watchStats, type AgentStats, type QueueStats, type StatsSnapshot, type StatsWatchOptions } from './stats-watch';
export { probeService, probeSystem, startSystem, waitForSystem } from './system-control';
export type { ServiceProbe, ServiceState, StartedSystem, StartSystemOptions, SystemProbe } from './system-control';
export { sendTelegram, telegramWebhook, type TelegramMessage } from './telegram-customer';
export { startWebchatVisitor, WebchatVisitor, type VisitorMessage, type VisitorNotice, type WebchatVisitorOptions } from './webchat-visitor';
export { sendWhatsApp, whatsAppWebhook, type WhatsAppMessage } from './whatsapp-customer';
