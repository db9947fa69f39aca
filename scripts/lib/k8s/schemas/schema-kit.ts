/**
 * Building blocks for the offline schemas. Every object is closed (additionalProperties false), so a
 * misspelt or unknown field is an error, as it is for `kubectl apply --validate=strict`.
 */
export type JsonSchema = Record<string, unknown>;

export const str: JsonSchema = { type: 'string' };
export const int: JsonSchema = { type: 'integer' };
export const bool: JsonSchema = { type: 'boolean' };
export const strList: JsonSchema = { type: 'array', items: str };
export const strMap: JsonSchema = { type: 'object', additionalProperties: str };
/** resource.Quantity: "100m", "128Mi", or a bare number. */
export const quantity: JsonSchema = { anyOf: [{ type: 'string', pattern: '^[+-]?[0-9.]+([eE][+-]?[0-9]+|[a-zA-Z]{1,2})?$' }, { type: 'number' }] };
export const intOrString: JsonSchema = { anyOf: [int, str] };
export const oneOf = (...values: string[]): JsonSchema => ({ type: 'string', enum: values });
export const list = (items: JsonSchema): JsonSchema => ({ type: 'array', items });

export function obj(properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: false };
}

export const objectMeta = obj(
  {
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253 },
    namespace: str,
    labels: strMap,
    annotations: strMap,
  },
  ['name'],
);

/** A whole top-level object: apiVersion and kind fixed, metadata, and the kind's own fields. */
export function resource(apiVersion: string, kind: string, fields: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return obj({ apiVersion: { const: apiVersion }, kind: { const: kind }, metadata: objectMeta, ...fields }, ['apiVersion', 'kind', 'metadata', ...required]);
}
