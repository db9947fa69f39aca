import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from './k8s/render';
import { promqlMetrics, validateAll, type OverlayReport } from './k8s/validate';

const root = join(__dirname, '..', '..');

/** Validates a copy of k8s/ after one edit, so each negative case breaks exactly one thing. */
function validateEdited(file: string, edit: (text: string) => string): OverlayReport[] {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-validate-'));
  try {
    cpSync(join(root, 'k8s'), dir, { recursive: true });
    const path = join(dir, file);
    const before = readFileSync(path, 'utf8');
    const after = edit(before);
    expect(after).not.toBe(before);
    writeFileSync(path, after);
    return validateAll(root, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const lines = (reports: OverlayReport[]) => reports.flatMap((report) => report.problems.map((p) => `${report.overlay}/${p.object}: ${p.path}: ${p.message}`));

describe('k8s:validate', () => {
  it('passes the real overlays', () => {
    const reports = validateAll(root);
    expect(reports.map((report) => report.overlay).sort()).toEqual(['dev', 'prod']);
    expect(lines(reports)).toEqual([]);
    const prod = reports.find((report) => report.overlay === 'prod')!;
    expect(prod.counts).toMatchObject({ Deployment: 10, PodDisruptionBudget: 10, HorizontalPodAutoscaler: 9, ScaledObject: 1, RabbitmqCluster: 1, Cluster: 1, PrometheusRule: 1 });
  });

  it('rejects an unknown field', () => {
    expect(lines(validateEdited('base/router/deployment.yaml', (t) => t.replace('  replicas: 1', '  replicass: 1')))).toContain(
      'dev/Deployment/router: spec: unknown field replicass',
    );
    expect(lines(validateEdited('base/gateway/deployment.yaml', (t) => t.replace('          livenessProbe:\n            httpGet:', '          livenessProbe:\n            httpGett:')))).toEqual(
      expect.arrayContaining(['dev/Deployment/gateway: spec.template.spec.containers.0.livenessProbe: unknown field httpGett']),
    );
  });

  it('rejects a container without a probe', () => {
    const problems = lines(validateEdited('base/adapters/sms/deployment.yaml', (t) => t.replace(/ {10}readinessProbe:\n(?: {12}.*\n)+/, '')));
    expect(problems).toContain('dev/Deployment/sms: spec.template.spec.containers[app].readinessProbe: missing readinessProbe');
  });

  it('rejects a :latest image', () => {
    const problems = lines(validateEdited('base/kustomization.yaml', (t) => t.replace('newTag: 0.1.0', 'newTag: latest')));
    expect(problems).toContain('prod/Deployment/router: spec.template.spec.containers[app].image: image channel-router:latest uses :latest');
  });

  it('rejects a secret set inline', () => {
    const problems = lines(
      validateEdited('base/adapters/telegram/deployment.yaml', (t) =>
        t.replace(/- name: TELEGRAM_BOT_TOKEN\n(?: {14}.*\n)+/, '- name: TELEGRAM_BOT_TOKEN\n              value: "123456:not-a-real-token-0000000000"\n'),
      ),
    );
    expect(problems).toContain('dev/Deployment/telegram: spec.template.spec.containers[app].env.TELEGRAM_BOT_TOKEN: secret-looking variable set inline; use valueFrom.secretKeyRef');
    const url = lines(validateEdited('base/router/deployment.yaml', (t) => t.replace('amqp://$(AMQP_USERNAME):$(AMQP_PASSWORD)@', 'amqp://admin:hunter2@')));
    expect(url).toContain('dev/Deployment/router: spec.template.spec.containers[app].env.AMQP_URL: secret-looking variable set inline; use valueFrom.secretKeyRef');
  });

  it('rejects a Deployment without a PodDisruptionBudget', () => {
    const problems = lines(validateEdited('base/adapters/slack/kustomization.yaml', (t) => t.replace('  - pdb.yaml\n', '')));
    expect(problems).toContain('dev/Deployment/slack: spec.template.metadata.labels: no PodDisruptionBudget selects this Deployment');
  });

  it('rejects a grace period shorter than the drain time', () => {
    const problems = lines(validateEdited('base/router/deployment.yaml', (t) => t.replace('terminationGracePeriodSeconds: 45', 'terminationGracePeriodSeconds: 30')));
    expect(problems).toContain(
      'prod/Deployment/router: spec.template.spec.terminationGracePeriodSeconds: grace period 30s is shorter than the drain time 35s (preStop 5s + SHUTDOWN_DELAY_MS 5000 + SHUTDOWN_TIMEOUT_MS 25000)',
    );
    // dev sets SHUTDOWN_DELAY_MS=0: 5 + 0 + 25 = 30 fits.
    expect(problems.filter((line) => line.startsWith('dev/'))).toEqual([]);
  });

  it('rejects alerts on metrics the code does not export', () => {
    const problems = lines(validateEdited('monitoring/prometheus-rule.yaml', (t) => t.replace('router_wait_seconds_bucket', 'router_wait_time_bucket')));
    expect(problems).toContain('prod/PrometheusRule/channel-router: spec.groups[0].rules[0].expr: unknown metric router_wait_time_bucket');
  });

  it('refuses kustomize features it does not model', () => {
    const problems = lines(validateEdited('overlays/dev/kustomization.yaml', (t) => `${t}\nnamePrefix: x-\n`));
    expect(problems[0]).toMatch(/unsupported kustomize field namePrefix/);
  });
});

describe('render', () => {
  it('applies namespace, replicas, images and the operator-secret patch', () => {
    const objects = render(join(root, 'k8s', 'overlays', 'prod'));
    const router = objects.find((object) => object.kind === 'Deployment' && object.metadata.name === 'router')!;
    expect(router.metadata.namespace).toBe('channel-router');
    const spec = router.spec as { replicas: number; template: { spec: { containers: Array<{ image: string; env: Array<{ name: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }> }> } } };
    expect(spec.replicas).toBe(2);
    expect(spec.template.spec.containers[0].image).toBe('channel-router:0.1.0');
    const env = Object.fromEntries(spec.template.spec.containers[0].env.map((entry) => [entry.name, entry.valueFrom?.secretKeyRef]));
    expect(env.DATABASE_URL).toEqual({ name: 'postgres-app', key: 'uri' });
    expect(env.AMQP_PASSWORD).toEqual({ name: 'rabbitmq-default-user', key: 'password' });
  });
});

describe('promqlMetrics', () => {
  it('finds metric names, not functions, labels or keywords', () => {
    expect(promqlMetrics('histogram_quantile(0.95, sum by (queue, le) (rate(router_wait_seconds_bucket{queue=~"a|b"}[5m]))) > 1 and on() hour() > 8')).toEqual([
      'router_wait_seconds_bucket',
    ]);
  });
});
