import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { buildEnvelope } from '@app/testing';
import { renderContractDocs } from './contract-docs';

const ROOT = join(__dirname, '..', '..');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const docs = renderContractDocs(version);

describe('contract documents', () => {
  it.each(Object.keys(docs))('%s is committed and current (run `npm run contracts` after changing libs/contracts)', (path) => {
    expect(readFileSync(join(ROOT, path), 'utf8')).toBe(docs[path]);
  });

  it('the AsyncAPI document is valid AsyncAPI 3 with no errors', async () => {
    const { document, diagnostics } = await new Parser().parse(docs['docs/asyncapi.json']);
    const errors = diagnostics.filter((diagnostic) => diagnostic.severity === 0);
    expect(errors.map((error) => `${error.path.join('.')}: ${error.message}`)).toEqual([]);
    expect(document).toBeDefined();
    const addresses = document!.channels().all().map((channel) => channel.address());
    expect(addresses).toEqual(expect.arrayContaining(['inbound.{channel}', 'agent.{agentId}.{event}', 'conversation.{event}']));
  });

  describe('the exported envelope JSON Schema', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(JSON.parse(docs['docs/schemas/inbound-envelope.v1.json']));

    it('accepts an envelope a publisher would send', () => {
      expect(validate(buildEnvelope())).toBe(true);
    });

    it('rejects what the runtime validation rejects', () => {
      expect(validate({ ...buildEnvelope(), channel: 'fax' })).toBe(false);
      expect(validate({ ...buildEnvelope(), unknownField: 1 })).toBe(false);
      const { messageId: _omitted, ...withoutId } = buildEnvelope();
      expect(validate(withoutId)).toBe(false);
    });
  });
});
