/**
 * K1 (docs reliability.md): every overlay renders, every object matches its schema, and the policy
 * holds — probes, requests and limits, preStop + grace period ≥ drain time, a PodDisruptionBudget
 * per Deployment, pinned images, secrets only by reference, a locked-down securityContext — and the
 * alert rules and the dashboard only query metrics the code exports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { render, type KObject } from './render';
import { SCHEMAS } from './schemas';

export interface Problem {
  object: string;
  path: string;
  message: string;
}

export interface OverlayReport {
  overlay: string;
  counts: Record<string, number>;
  problems: Problem[];
}

type Json = Record<string, unknown>;
type Container = Json & { name: string; env?: Json[]; envFrom?: Json[] };

const SECRET_NAME = /(_SECRET|_TOKEN|_KEY|PASSWORD)$|PASSWORD|^(AMQP_URL|DATABASE_URL|SMTP_OUT_URL)$/;
/** The apps' defaults (libs/config common-env.schema.ts). */
const DEFAULT_SHUTDOWN_DELAY_MS = 0;
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000;

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
const validators = new Map(Object.entries(SCHEMAS).map(([key, schema]) => [key, ajv.compile(schema)]));

const describe = (object: KObject) => `${object.kind}/${object.metadata.name}`;

function schemaMessage(error: ErrorObject): string {
  if (error.keyword === 'additionalProperties') return `unknown field ${String(error.params.additionalProperty)}`;
  if (error.keyword === 'required') return `missing field ${String(error.params.missingProperty)}`;
  if (error.keyword === 'enum') return `${error.message} (${(error.params.allowedValues as unknown[]).join(', ')})`;
  return error.message ?? error.keyword;
}

export function validateSchemas(objects: KObject[]): Problem[] {
  const problems: Problem[] = [];
  for (const object of objects) {
    const validate = validators.get(`${object.apiVersion}/${object.kind}`);
    if (!validate) {
      problems.push({ object: describe(object), path: 'kind', message: `unknown kind ${object.apiVersion} ${object.kind}` });
      continue;
    }
    if (validate(object)) continue;
    // anyOf/oneOf failures repeat their branches' errors; report each place once.
    const seen = new Set<string>();
    for (const error of validate.errors ?? []) {
      if (error.keyword === 'anyOf' || error.keyword === 'oneOf') continue;
      const problem = { object: describe(object), path: error.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(root)', message: schemaMessage(error) };
      const key = `${problem.path}|${problem.message}`;
      if (!seen.has(key)) problems.push(problem);
      seen.add(key);
    }
  }
  return problems;
}

const podSpecOf = (object: KObject) => ((object.spec as Json).template as Json).spec as Json & { containers: Container[]; volumes?: Json[]; securityContext?: Json; terminationGracePeriodSeconds?: number };

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/** A setting as the container will see it: its own env first, then its envFrom ConfigMaps. */
function setting(container: Container, configMaps: Map<string, Json>, name: string): string | undefined {
  const own = container.env?.find((entry) => entry.name === name);
  if (own && typeof own.value === 'string') return own.value;
  let found: string | undefined;
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef as Json | undefined;
    const data = ref ? (configMaps.get(String(ref.name))?.data as Record<string, string> | undefined) : undefined;
    if (data?.[name] !== undefined) found = data[name];
  }
  return found;
}

function preStopSeconds(container: Container): number | undefined {
  const preStop = (container.lifecycle as Json | undefined)?.preStop as Json | undefined;
  const sleep = preStop?.sleep as Json | undefined;
  if (sleep && typeof sleep.seconds === 'number') return sleep.seconds;
  const command = (preStop?.exec as Json | undefined)?.command as string[] | undefined;
  if (command?.length === 2 && command[0] === 'sleep' && /^\d+$/.test(command[1])) return Number(command[1]);
  return undefined;
}

function imageProblem(image: unknown): string | undefined {
  if (typeof image !== 'string' || image === '') return 'no image';
  if (image.includes('@sha256:')) return undefined;
  const tag = /:([^:/]+)$/.exec(image)?.[1];
  if (!tag) return `image ${image} has no tag`;
  if (tag === 'latest') return `image ${image} uses :latest`;
  return undefined;
}

/**
 * A secret-looking variable may be set inline only when it is assembled from other variables that
 * come from Secrets (Kubernetes expands `$(NAME)` from earlier entries), e.g. an AMQP URL built from
 * the RabbitMQ operator's username/password keys.
 */
function inlineSecret(env: Json[], index: number): boolean {
  const value = String(env[index].value);
  const refs = [...value.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((match) => match[1]);
  const fromSecret = (name: string) => env.slice(0, index).some((entry) => entry.name === name && ((entry.valueFrom as Json | undefined)?.secretKeyRef !== undefined));
  const userinfo = /^[a-z]+:\/\/([^@/]*)@/i.exec(value)?.[1];
  const literalCredentials = userinfo !== undefined && userinfo.replace(/\$\([A-Za-z0-9_]+\)/g, '').replace(':', '') !== '';
  return refs.length === 0 || !refs.every(fromSecret) || literalCredentials;
}

function checkContainer(where: string, container: Container, workload: 'Deployment' | 'Job', problems: Problem[], object: string): void {
  const at = (path: string, message: string) => problems.push({ object, path: `${where}.${path}`, message });
  if (workload === 'Deployment') {
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) if (!container[probe]) at(probe, `missing ${probe}`);
  }
  const resources = (container.resources ?? {}) as Json;
  const requests = resources.requests as Json | undefined;
  const limits = resources.limits as Json | undefined;
  if (!requests?.cpu || !requests?.memory) at('resources.requests', 'cpu and memory requests are required');
  if (!limits?.memory) at('resources.limits', 'a memory limit is required');
  const problem = imageProblem(container.image);
  if (problem) at('image', problem);
  const security = (container.securityContext ?? {}) as Json;
  if (security.allowPrivilegeEscalation !== false) at('securityContext.allowPrivilegeEscalation', 'must be false');
  if (security.readOnlyRootFilesystem !== true) at('securityContext.readOnlyRootFilesystem', 'must be true');
  const drop = (security.capabilities as Json | undefined)?.drop as string[] | undefined;
  if (!drop?.includes('ALL')) at('securityContext.capabilities.drop', 'must drop ALL');
  const mounts = (container.volumeMounts ?? []) as Json[];
  if (!mounts.some((mount) => mount.mountPath === '/tmp')) at('volumeMounts', 'mount an emptyDir at /tmp (the root filesystem is read-only)');
  const env = container.env ?? [];
  env.forEach((entry, index) => {
    if (typeof entry.value === 'string' && SECRET_NAME.test(String(entry.name)) && inlineSecret(env, index)) {
      at(`env.${String(entry.name)}`, 'secret-looking variable set inline; use valueFrom.secretKeyRef');
    }
  });
}

export function checkPolicy(objects: KObject[]): Problem[] {
  const problems: Problem[] = [];
  const configMaps = new Map(objects.filter((object) => object.kind === 'ConfigMap').map((object) => [object.metadata.name, object as Json]));
  const deployments = objects.filter((object) => object.kind === 'Deployment');
  const pdbs = objects.filter((object) => object.kind === 'PodDisruptionBudget');

  for (const object of objects) {
    const name = describe(object);
    if (object.kind === 'Secret' && (object.data !== undefined || object.stringData !== undefined)) {
      problems.push({ object: name, path: 'data', message: 'Secrets with values do not belong in the manifests; reference them by name' });
    }
    if (object.kind === 'ConfigMap') {
      for (const key of Object.keys((object.data ?? {}) as Json)) {
        if (SECRET_NAME.test(key)) problems.push({ object: name, path: `data.${key}`, message: 'secret-looking key in a ConfigMap; use a Secret reference' });
      }
    }
    if (object.kind === 'RabbitmqCluster' || object.kind === 'Cluster') {
      const field = object.kind === 'RabbitmqCluster' ? 'image' : 'imageName';
      const image = (object.spec as Json)[field];
      const problem = image === undefined ? `pin ${field} (the operator's default changes with the operator)` : imageProblem(image);
      if (problem) problems.push({ object: name, path: `spec.${field}`, message: problem });
    }
    if (object.kind === 'HorizontalPodAutoscaler' || object.kind === 'ScaledObject') {
      const target = String(((object.spec as Json).scaleTargetRef as Json).name);
      if (!deployments.some((deployment) => deployment.metadata.name === target)) problems.push({ object: name, path: 'spec.scaleTargetRef', message: `no Deployment ${target}` });
    }
    if (object.kind !== 'Deployment' && object.kind !== 'Job') continue;

    const pod = podSpecOf(object);
    const security = (pod.securityContext ?? {}) as Json;
    if (security.runAsNonRoot !== true) problems.push({ object: name, path: 'spec.template.spec.securityContext.runAsNonRoot', message: 'must be true' });
    if (!(pod.volumes ?? []).some((volume) => volume.emptyDir !== undefined && (pod.containers ?? []).some((c) => ((c.volumeMounts ?? []) as Json[]).some((m) => m.name === volume.name && m.mountPath === '/tmp')))) {
      problems.push({ object: name, path: 'spec.template.spec.volumes', message: 'no emptyDir mounted at /tmp' });
    }
    for (const [index, container] of (pod.containers ?? []).entries()) {
      const where = `spec.template.spec.containers[${container.name ?? index}]`;
      checkContainer(where, container, object.kind, problems, name);
      if (object.kind !== 'Deployment') continue;
      const sleep = preStopSeconds(container);
      if (sleep === undefined) {
        problems.push({ object: name, path: `${where}.lifecycle.preStop`, message: 'missing preStop sleep (lets endpoints drop the pod before SIGTERM)' });
        continue;
      }
      const delayMs = Number(setting(container, configMaps, 'SHUTDOWN_DELAY_MS') ?? DEFAULT_SHUTDOWN_DELAY_MS);
      const timeoutMs = Number(setting(container, configMaps, 'SHUTDOWN_TIMEOUT_MS') ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);
      const drainS = sleep + (delayMs + timeoutMs) / 1000;
      const grace = pod.terminationGracePeriodSeconds ?? 30;
      if (grace < drainS) {
        problems.push({ object: name, path: 'spec.template.spec.terminationGracePeriodSeconds', message: `grace period ${grace}s is shorter than the drain time ${drainS}s (preStop ${sleep}s + SHUTDOWN_DELAY_MS ${delayMs} + SHUTDOWN_TIMEOUT_MS ${timeoutMs})` });
      }
    }
    if (object.kind === 'Deployment') {
      const labels = ((object.spec as Json).template as Json & { metadata?: { labels?: Record<string, string> } }).metadata?.labels;
      const covered = pdbs.some((pdb) => matches(((pdb.spec as Json).selector as Json | undefined)?.matchLabels as Record<string, string> | undefined, labels));
      if (!covered) problems.push({ object: name, path: 'spec.template.metadata.labels', message: 'no PodDisruptionBudget selects this Deployment' });
    }
  }
  return problems;
}

/** Metric names the code registers (counter/histogram/gauge calls in apps and libs). */
export function exportedMetrics(root: string): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) {
        const text = readFileSync(path, 'utf8');
        for (const match of text.matchAll(/\b(counter|histogram|gauge)\(\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/g)) {
          names.add(match[2]);
          if (match[1] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${match[2]}${suffix}`);
        }
      }
    }
  };
  walk(join(root, 'apps'));
  walk(join(root, 'libs'));
  // Scrape health and the metrics prom-client's collectDefaultMetrics() adds to every app.
  for (const name of ['up', 'process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes']) names.add(name);
  return names;
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression reads (label matchers, grouping labels and functions removed). */
export function promqlMetrics(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  return [...stripped.matchAll(/(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![a-zA-Z0-9_:]|\s*\()/g)]
    .map((match) => match[1])
    .filter((word) => !PROMQL_WORDS.has(word.toLowerCase()) && !/^\d/.test(word) && !/^(e\d+)$/.test(word));
}

export function checkQueries(objects: KObject[], dashboards: Array<{ file: string; text: string }>, metrics: Set<string>): Problem[] {
  const problems: Problem[] = [];
  const check = (object: string, path: string, expr: string) => {
    for (const metric of promqlMetrics(expr)) if (!metrics.has(metric)) problems.push({ object, path, message: `unknown metric ${metric}` });
  };
  for (const object of objects.filter((candidate) => candidate.kind === 'PrometheusRule')) {
    for (const [g, group] of (((object.spec as Json).groups ?? []) as Json[]).entries()) {
      for (const [r, rule] of ((group.rules ?? []) as Json[]).entries()) check(describe(object), `spec.groups[${g}].rules[${r}].expr`, String(rule.expr));
    }
  }
  for (const dashboard of dashboards) {
    let parsed: Json;
    try {
      parsed = JSON.parse(dashboard.text) as Json;
    } catch (error) {
      problems.push({ object: `dashboard/${dashboard.file}`, path: '(root)', message: `not JSON: ${(error as Error).message}` });
      continue;
    }
    for (const [p, panel] of ((parsed.panels ?? []) as Json[]).entries()) {
      for (const [t, target] of ((panel.targets ?? []) as Json[]).entries()) check(`dashboard/${dashboard.file}`, `panels[${p}].targets[${t}].expr`, String(target.expr));
    }
  }
  return problems;
}

/** Renders and checks one overlay directory. */
export function validateOverlay(overlayDir: string, dashboards: Array<{ file: string; text: string }>, metrics: Set<string>): OverlayReport {
  const overlay = overlayDir.split(/[\\/]/).pop()!;
  let objects: KObject[];
  try {
    objects = render(overlayDir);
  } catch (error) {
    return { overlay, counts: {}, problems: [{ object: 'kustomization', path: '(render)', message: (error as Error).message }] };
  }
  const counts: Record<string, number> = {};
  for (const object of objects) counts[object.kind] = (counts[object.kind] ?? 0) + 1;
  const problems = [...validateSchemas(objects), ...checkPolicy(objects), ...checkQueries(objects, dashboards, metrics)];
  return { overlay, counts, problems };
}

/** Every overlay under `<root>/k8s/overlays`, with the dashboards under `<root>/k8s/monitoring`. */
export function validateAll(root: string, k8sDir = join(root, 'k8s')): OverlayReport[] {
  const metrics = exportedMetrics(root);
  const monitoring = join(k8sDir, 'monitoring');
  const dashboards = readdirSync(monitoring)
    .filter((file) => file.endsWith('.json'))
    .map((file) => ({ file, text: readFileSync(join(monitoring, file), 'utf8') }));
  const overlays = join(k8sDir, 'overlays');
  return readdirSync(overlays, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => validateOverlay(join(overlays, entry.name), dashboards, metrics));
}
