import { DEFAULT_ENDPOINTS } from './demo-endpoints';
import { DemoArgsError, parseDemoArgs } from './demo-args';

describe('demo arguments', () => {
  it('runs until Ctrl-C on the npm start ports by default, starting the system when needed', () => {
    const args = parseDemoArgs([], {});
    expect(args).toMatchObject({
      help: false,
      durationS: undefined,
      start: true,
      quiet: false,
      channels: ['sms', 'whatsapp', 'telegram'],
      tenant: 'default',
      endpoints: DEFAULT_ENDPOINTS,
      defaultPorts: true,
      deskUrl: 'http://127.0.0.1:3002/desk/',
    });
  });

  it('reads the duration, --no-start, --quiet and a channel list', () => {
    const args = parseDemoArgs(['--duration', '90', '--no-start', '--quiet', '--channels', 'sms, whatsapp'], {});
    expect(args).toMatchObject({ durationS: 90, start: false, quiet: true, channels: ['sms', 'whatsapp'] });
  });

  it('takes base URLs from flags before the environment, and then knows it cannot start the system itself', () => {
    const args = parseDemoArgs(['--gateway', 'http://127.0.0.1:4002/', '--sms', 'http://127.0.0.1:4011'], {
      DEMO_GATEWAY_URL: 'http://127.0.0.1:9999',
      DEMO_WEBCHAT_URL: 'http://127.0.0.1:4010',
      DEMO_SMS_PUBLIC_URL: 'https://hooks.example.com',
    });
    expect(args.endpoints).toEqual({
      ...DEFAULT_ENDPOINTS,
      gateway: 'http://127.0.0.1:4002',
      sms: 'http://127.0.0.1:4011',
      webchat: 'http://127.0.0.1:4010',
    });
    expect(args.defaultPorts).toBe(false);
    expect(args.deskUrl).toBe('http://127.0.0.1:4002/desk/');
    expect(args.smsPublicUrl).toBe('https://hooks.example.com');
  });

  it('takes the adapters settings file from ADAPTERS_ENV_FILE as start-all does', () => {
    expect(parseDemoArgs([], { ADAPTERS_ENV_FILE: '/etc/adapters.json' }).adaptersConfig).toBe('/etc/adapters.json');
    expect(parseDemoArgs(['--adapters-config', 'a.json'], { ADAPTERS_ENV_FILE: '/etc/adapters.json' }).adaptersConfig).toBe('a.json');
  });

  it.each([
    [['--duration', '0'], /--duration/],
    [['--duration', 'soon'], /--duration/],
    [['--channels', 'sms,fax'], /not fax/],
    [['--gateway', 'localhost:3002'], /--gateway must be an http/],
    [['--tenant', 'Bad Tenant'], /--tenant/],
    [['--colour', 'red'], /colour/],
    [['extra'], /extra/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseDemoArgs(argv as string[], {})).toThrow(DemoArgsError);
    expect(() => parseDemoArgs(argv as string[], {})).toThrow(message);
  });
});
