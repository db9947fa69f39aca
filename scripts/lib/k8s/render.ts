/**
 * A small kustomize renderer for exactly the features our kustomizations use, so that CI can
 * validate the rendered manifests offline (no kustomize binary here). Any other field, list or
 * directive is an error rather than a guess: this renderer must never silently produce something
 * different from `kustomize build`. Transformers run in kustomize's order: generators (merge),
 * patches, namespace, labels, replicas, images.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type KObject = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } };

export class RenderError extends Error {
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'RenderError';
  }
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'labels', 'images', 'replicas', 'configMapGenerator', 'generatorOptions', 'patches']);
/** Kinds kustomize's `replicas` field changes. */
const SCALABLE = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController']);
/** Strategic-merge keys of the lists a patch may touch (from the Kubernetes API's patchMergeKey). */
const MERGE_KEYS: Record<string, string> = { containers: 'name', initContainers: 'name', env: 'name', volumes: 'name', volumeMounts: 'mountPath', imagePullSecrets: 'name' };
/** Lists the Kubernetes API marks atomic: a patch replaces them whole. */
const ATOMIC_LISTS = new Set(['command', 'args', 'drop', 'add']);

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function only(where: string, value: Record<string, unknown>, allowed: string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new RenderError(where, `unsupported kustomize field ${key}`);
  }
}

export function parseManifests(text: string, where: string): KObject[] {
  const objects: KObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new RenderError(where, doc.errors[0].message);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isMap(value) || typeof value.kind !== 'string' || typeof value.apiVersion !== 'string' || !isMap(value.metadata) || typeof value.metadata.name !== 'string') {
      throw new RenderError(where, 'a manifest needs apiVersion, kind and metadata.name');
    }
    objects.push(value as KObject);
  }
  return objects;
}

function kustomizationFile(dir: string): string | undefined {
  return KUSTOMIZATION_FILES.map((name) => join(dir, name)).find((file) => existsSync(file));
}

/** Renders the kustomization in `dir` (a directory holding kustomization.yaml). */
export function render(dir: string): KObject[] {
  const file = kustomizationFile(dir);
  if (!file) throw new RenderError(dir, 'no kustomization.yaml');
  const [k] = parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => doc.toJS() as unknown);
  if (!isMap(k)) throw new RenderError(file, 'not a mapping');
  for (const key of Object.keys(k)) if (!SUPPORTED_FIELDS.has(key)) throw new RenderError(file, `unsupported kustomize field ${key}`);
  if (k.kind !== 'Kustomization' || k.apiVersion !== 'kustomize.config.k8s.io/v1beta1') throw new RenderError(file, 'expected kind Kustomization, apiVersion kustomize.config.k8s.io/v1beta1');

  const objects = loadResources(dir, file, (k.resources ?? []) as unknown[]);
  generate(dir, file, k, objects);
  for (const [index, entry] of ((k.patches ?? []) as unknown[]).entries()) patch(dir, `${file}: patches[${index}]`, entry, objects);
  if (k.namespace !== undefined) {
    if (typeof k.namespace !== 'string') throw new RenderError(file, 'namespace must be a string');
    for (const object of objects) object.metadata.namespace = k.namespace;
  }
  for (const [index, entry] of ((k.labels ?? []) as unknown[]).entries()) label(`${file}: labels[${index}]`, entry, objects);
  for (const [index, entry] of ((k.replicas ?? []) as unknown[]).entries()) scale(`${file}: replicas[${index}]`, entry, objects);
  for (const [index, entry] of ((k.images ?? []) as unknown[]).entries()) retag(`${file}: images[${index}]`, entry, objects);
  return objects;
}

function loadResources(dir: string, file: string, entries: unknown[]): KObject[] {
  const objects: KObject[] = [];
  for (const entry of entries) {
    if (typeof entry !== 'string' || /^[a-z]+:\/\//i.test(entry) || entry.startsWith('git@')) throw new RenderError(file, `unsupported resource ${String(entry)} (local files and directories only)`);
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new RenderError(file, `resource ${entry} does not exist`);
    const loaded = statSync(path).isDirectory() ? render(path) : parseManifests(readFileSync(path, 'utf8'), path);
    for (const object of loaded) add(objects, object, file);
  }
  return objects;
}

const id = (object: KObject) => `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;

function add(objects: KObject[], object: KObject, where: string): void {
  if (objects.some((existing) => id(existing) === id(object))) throw new RenderError(where, `may not add resource with an already registered id ${object.kind}/${object.metadata.name}`);
  objects.push(object);
}

function generate(dir: string, file: string, k: Record<string, unknown>, objects: KObject[]): void {
  const generators = (k.configMapGenerator ?? []) as unknown[];
  const options = k.generatorOptions;
  if (options !== undefined) {
    if (!isMap(options)) throw new RenderError(file, 'generatorOptions must be a mapping');
    only(`${file}: generatorOptions`, options, ['disableNameSuffixHash']);
  }
  // Name hashes would need kustomize's name-reference rewriting, which this renderer does not do.
  if (generators.length > 0 && !(isMap(options) && options.disableNameSuffixHash === true)) {
    throw new RenderError(file, 'configMapGenerator needs generatorOptions.disableNameSuffixHash: true (hash suffixes are not supported)');
  }
  for (const [index, generator] of generators.entries()) {
    const where = `${file}: configMapGenerator[${index}]`;
    if (!isMap(generator) || typeof generator.name !== 'string') throw new RenderError(where, 'needs a name');
    only(where, generator, ['name', 'behavior', 'literals', 'files', 'options']);
    const data: Record<string, string> = {};
    for (const literal of (generator.literals ?? []) as unknown[]) {
      const match = typeof literal === 'string' ? /^([^=]+)=(.*)$/s.exec(literal) : null;
      if (!match) throw new RenderError(where, `literal ${String(literal)} is not KEY=value`);
      data[match[1]] = match[2].replace(/^"(.*)"$/s, '$1');
    }
    for (const source of (generator.files ?? []) as unknown[]) {
      if (typeof source !== 'string') throw new RenderError(where, 'files entries are paths');
      const [key, path] = source.includes('=') ? source.split('=', 2) : [basename(source), source];
      data[key] = readFileSync(resolve(dir, path), 'utf8');
    }
    let labels: Record<string, string> | undefined;
    if (generator.options !== undefined) {
      if (!isMap(generator.options)) throw new RenderError(where, 'options must be a mapping');
      only(`${where}: options`, generator.options, ['labels']);
      labels = generator.options.labels as Record<string, string>;
    }
    const behavior = generator.behavior ?? 'create';
    if (behavior === 'create') {
      add(objects, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generator.name, ...(labels ? { labels: { ...labels } } : {}) }, data }, where);
    } else if (behavior === 'merge') {
      const target = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name === generator.name);
      if (!target) throw new RenderError(where, `behavior merge: no ConfigMap ${generator.name} to merge into`);
      target.data = { ...((target.data ?? {}) as Record<string, string>), ...data };
      if (labels) target.metadata.labels = { ...target.metadata.labels, ...labels };
    } else {
      throw new RenderError(where, `unsupported behavior ${String(behavior)}`);
    }
  }
}

function patch(dir: string, where: string, entry: unknown, objects: KObject[]): void {
  if (!isMap(entry)) throw new RenderError(where, 'must be a mapping');
  only(where, entry, ['path', 'patch', 'target']);
  if ((entry.path === undefined) === (entry.patch === undefined)) throw new RenderError(where, 'set exactly one of path and patch');
  const text = typeof entry.path === 'string' ? readFileSync(resolve(dir, entry.path), 'utf8') : String(entry.patch);
  const docs = parseAllDocuments(text).map((doc) => doc.toJS() as unknown);
  if (docs.length !== 1 || !isMap(docs[0])) throw new RenderError(where, 'unsupported patch: only one strategic-merge patch document (JSON 6902 patches are not supported)');
  const body = docs[0];
  let kind = body.kind;
  let name = isMap(body.metadata) ? body.metadata.name : undefined;
  if (entry.target !== undefined) {
    if (!isMap(entry.target)) throw new RenderError(where, 'target must be a mapping');
    only(`${where}: target`, entry.target, ['kind', 'name']);
    if (Object.values(entry.target).some((value) => typeof value !== 'string' || /[.*+?^${}()|[\]\\]/.test(value))) {
      throw new RenderError(where, 'target kind/name must be plain names (regular expressions are not supported)');
    }
    kind = entry.target.kind;
    name = entry.target.name;
  }
  if (typeof kind !== 'string') throw new RenderError(where, 'cannot tell which kind the patch targets');
  const targets = objects.filter((object) => object.kind === kind && (name === undefined || object.metadata.name === name));
  if (targets.length === 0) throw new RenderError(where, `no ${kind}${name ? `/${String(name)}` : ''} to patch`);
  const { apiVersion: _apiVersion, kind: _kind, metadata, ...rest } = body;
  for (const target of targets) {
    const merged = mergePatch(target, { ...rest, ...(isMap(metadata) ? { metadata: { ...metadata, name: target.metadata.name } } : {}) }, where) as KObject;
    Object.assign(target, merged);
  }
}

/** Strategic merge: maps merge, null deletes, keyed lists merge by key, atomic lists are replaced. */
export function mergePatch(base: unknown, change: unknown, where: string, field = ''): unknown {
  if (Array.isArray(change)) {
    if (ATOMIC_LISTS.has(field)) return structuredClone(change);
    const key = MERGE_KEYS[field];
    if (!key) throw new RenderError(where, `unsupported list ${field} in a strategic-merge patch (its merge semantics are not modelled here)`);
    const result = Array.isArray(base) ? structuredClone(base) : [];
    for (const item of change) {
      if (!isMap(item) || item[key] === undefined) throw new RenderError(where, `every ${field} item needs its merge key ${key}`);
      const index = result.findIndex((existing) => isMap(existing) && existing[key] === item[key]);
      if (index === -1) result.push(mergePatch(undefined, item, where, field));
      else result[index] = mergePatch(result[index], item, where, field);
    }
    return result;
  }
  if (isMap(change)) {
    const result: Record<string, unknown> = isMap(base) ? { ...base } : {};
    for (const [key, value] of Object.entries(change)) {
      if (key.startsWith('$')) throw new RenderError(where, `unsupported strategic-merge directive ${key}`);
      if (value === null) delete result[key];
      else result[key] = mergePatch(result[key], value, where, key);
    }
    return result;
  }
  return change;
}

function label(where: string, entry: unknown, objects: KObject[]): void {
  if (!isMap(entry) || !isMap(entry.pairs)) throw new RenderError(where, 'needs pairs');
  only(where, entry, ['pairs', 'includeSelectors', 'includeTemplates']);
  // With selectors or templates kustomize edits many kind-specific field paths; we use neither.
  if (entry.includeSelectors === true || entry.includeTemplates === true) throw new RenderError(where, 'unsupported: includeSelectors/includeTemplates true');
  for (const object of objects) object.metadata.labels = { ...object.metadata.labels, ...(entry.pairs as Record<string, string>) };
}

function scale(where: string, entry: unknown, objects: KObject[]): void {
  if (!isMap(entry) || typeof entry.name !== 'string' || !Number.isInteger(entry.count)) throw new RenderError(where, 'needs name and an integer count');
  only(where, entry, ['name', 'count']);
  const targets = objects.filter((object) => SCALABLE.has(object.kind) && object.metadata.name === entry.name);
  if (targets.length === 0) throw new RenderError(where, `no workload named ${entry.name}`);
  for (const target of targets) (target.spec as Record<string, unknown>).replicas = entry.count;
}

function retag(where: string, entry: unknown, objects: KObject[]): void {
  if (!isMap(entry) || typeof entry.name !== 'string') throw new RenderError(where, 'needs a name');
  only(where, entry, ['name', 'newName', 'newTag']);
  const rewrite = (image: string): string => {
    const match = /^(.*?)(?::([^:/@]+))?(@.*)?$/.exec(image)!;
    if (match[1] !== entry.name) return image;
    const tag = typeof entry.newTag === 'string' ? entry.newTag : match[2];
    return `${typeof entry.newName === 'string' ? entry.newName : match[1]}${tag !== undefined ? `:${tag}` : ''}${match[3] ?? ''}`;
  };
  // Like kustomize, every `containers`/`initContainers` list anywhere in an object is an image site.
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (isMap(node)) {
      for (const [key, value] of Object.entries(node)) {
        if ((key === 'containers' || key === 'initContainers') && Array.isArray(value)) {
          for (const container of value) if (isMap(container) && typeof container.image === 'string') container.image = rewrite(container.image);
        }
        visit(value);
      }
    }
  };
  objects.forEach(visit);
}
