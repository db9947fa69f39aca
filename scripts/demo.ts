/**
 * `npm run demo`: a live demo of routing for someone watching the agent desk. Starts the system as
 * `npm start` does when nothing runs (and stops it at the end; a partly running system is refused
 * rather than doubled), seeds the demo queues and agents through the admin API, prints desk links
 * for the human agents and the supervisor, then plays customers (signed SMS, WhatsApp and Telegram
 * webhooks, web chat visitors) and scripted agents, and narrates what routing does, one line per
 * event. Stops on Ctrl-C or after --duration, with a summary. The pieces are in scripts/lib/demo.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  channelEndpoints,
  DEMO_USAGE,
  DemoArgsError,
  devTokenSettings,
  parseDemoArgs,
  probeSystem,
  readAdapterSettings,
  startDemo,
  startSystem,
  waitForSystem,
  type DemoArgs,
  type DemoResult,
  type DemoService,
  type StartedSystem,
} from './lib/demo';

const out = (line = '') => process.stdout.write(`${line}\n`);

class Exit extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

function neededServices(args: DemoArgs): Array<{ service: DemoService; url: string }> {
  const services: DemoService[] = ['router', 'gateway', 'webchat', ...args.channels];
  return services.map((service) => ({ service, url: args.endpoints[service] }));
}

/** Uses the running system, or starts one when nothing runs; undefined when it was already running. */
async function ensureSystem(args: DemoArgs): Promise<StartedSystem | undefined> {
  const services = neededServices(args);
  const probe = await probeSystem(services);
  if (probe.ready) {
    out('the system is running: using it');
    return undefined;
  }
  const down = probe.services.filter((probe) => probe.state === 'down');
  if (!probe.down && down.length === 0) {
    out('the system is starting: waiting until it is ready');
    await waitForSystem(services, { timeoutMs: 60_000 });
    return undefined;
  }
  if (!probe.down) {
    const up = probe.services.filter((probe) => probe.state !== 'down');
    throw new Exit(
      `the system is partly running: nothing answers for ${down.map((s) => `${s.service} (${s.url})`).join(', ')}, ` +
        `while ${up.map((s) => s.service).join(', ').replace(/, ([^,]*)$/, ' and $1')} ${up.length === 1 ? 'does' : 'do'}. ` +
        'Not starting a second copy beside it: ' +
        'start the missing services (npm start runs them all), or stop the running ones and run the demo again.',
      1,
    );
  }
  if (!args.start) throw new Exit(`the system is not running (nothing answers at ${args.endpoints.gateway}); start it with npm start, or drop --no-start`, 1);
  if (!args.defaultPorts) {
    throw new Exit('nothing answers at the URLs given; the demo starts the system (npm start) only on its default ports, so start it yourself or drop the URL options', 1);
  }
  const logFile = join(tmpdir(), `channel-router-demo-${process.pid}.log`);
  out(`the system is not running: starting it as npm start does (its log: ${logFile})`);
  const system = startSystem({ startAllPath: join(__dirname, 'start-all.js'), logFile });
  try {
    await waitForSystem(services, { exited: system.exited, timeoutMs: 180_000 });
  } catch (error) {
    await system.stop();
    throw new Exit(`${(error as Error).message}\n--- the end of ${logFile}:\n${system.tail()}`, 1);
  }
  out('the system is ready');
  return system;
}

function printSummary(result: DemoResult): void {
  const waiting = Object.entries(result.peakWaiting)
    .map(([queue, peak]) => `${queue} ${peak}`)
    .join(', ');
  out('summary:');
  out(`  ${result.customersWrote} customer messages; ${result.offers} offers of live chats, ${result.offersTimedOut} of them timed out at an empty desk`);
  out(`  ${result.assigned} assignments, ${result.assignedSticky} of them sticky; ${result.closed} conversations closed by scripted agents`);
  out(`  most waiting at once: ${waiting || 'none'}; async caps reached ${result.capsReached} times`);
  out(`  web chat visitors got ${result.queueNotices} queue notices and ${result.visitorReplies} replies`);
  if (result.problems > 0) out(`  ${result.problems} problems (lines starting with !)`);
}

async function main(): Promise<void> {
  let args: DemoArgs;
  try {
    args = parseDemoArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof DemoArgsError) throw new Exit(`${error.message} (see --help)`, 2);
    throw error;
  }
  if (args.help) {
    process.stdout.write(DEMO_USAGE);
    return;
  }

  let signalled: () => void = () => undefined;
  const signal = new Promise<'signal'>((resolve) => (signalled = () => resolve('signal')));
  let signals = 0;
  const started: { system?: StartedSystem } = {};
  const onSignal = () => {
    signals += 1;
    if (signals === 1) {
      signalled();
      return;
    }
    // A second Ctrl-C: stop now, and take down a system this demo started.
    process.stderr.write('demo: stopping at once\n');
    void (started.system ? started.system.stop(5_000) : Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const system = (started.system = await ensureSystem(args));
  try {
    const settingsFile = args.adaptersConfig ?? join(__dirname, '..', '..', 'config', 'dev-adapters.json');
    const channels = channelEndpoints(args.endpoints, await readAdapterSettings(settingsFile), process.env, args.smsPublicUrl);
    const demo = await startDemo({
      gatewayUrl: args.endpoints.gateway,
      deskUrl: args.deskUrl,
      channels,
      tokens: devTokenSettings(process.env, args.tenant),
      scenario: { timelineOptions: { asyncChannels: args.channels } },
      write: (line) => out(line),
      narration: args.quiet ? 'quiet' : args.verbose ? 'verbose' : 'normal',
      onReady: ({ links, cleared }) => {
        if (cleared > 0) out(`cleared ${cleared} conversations the demo agents still held from an earlier run`);
        out();
        out('Open the agent desk as one of the demo agents (each link carries a development token, valid 8 h):');
        for (const link of links) out(`  ${`${link.agentId} (${link.role})`.padEnd(18)} ${link.url}`);
        out('  the supervisor link opens the desk; its supervisor view is at #/supervisor');
        out();
        out(`Customers write on web chat and ${args.channels.join(', ')}; replies on messaging channels end as failed deliveries`);
        out('when the adapters use the development settings (their provider APIs point at 127.0.0.1:9).');
        out(args.durationS ? `Running for ${args.durationS} s (Ctrl-C stops earlier).` : 'Running until Ctrl-C.');
        out();
      },
    });
    const ended = await Promise.race([
      signal,
      ...(args.durationS ? [new Promise<'duration'>((resolve) => setTimeout(() => resolve('duration'), args.durationS! * 1000).unref())] : []),
      ...(system ? [system.exited.then(() => 'system' as const)] : []),
    ]);
    if (ended === 'system') out(`the system stopped on its own; see ${system!.logFile}`);
    out('stopping the demo… (Ctrl-C again stops at once)');
    printSummary(await demo.stop());
    if (ended === 'system') process.exitCode = 1;
  } finally {
    if (system) {
      out('stopping the system the demo started…');
      await system.stop();
    }
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: Error) => {
    process.stderr.write(`demo: ${error.message}\n`);
    process.exit(error instanceof Exit ? error.code : 1);
  },
);
