import { buildAsyncApiDocument, jsonSchemas } from '@app/contracts';

/** The contract documents as committed under docs/, keyed by repository path. */
export function renderContractDocs(version: string): Record<string, string> {
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return {
    'docs/asyncapi.json': json(buildAsyncApiDocument(version)),
    'docs/schemas/inbound-envelope.v1.json': json(jsonSchemas.inboundEnvelope()),
    'docs/schemas/router-event.json': json(jsonSchemas.routerEvent()),
    'docs/schemas/router-command.json': json(jsonSchemas.routerCommand()),
    'docs/schemas/customer-notice.json': json(jsonSchemas.customerNotice()),
    'docs/schemas/outbound-message.json': json(jsonSchemas.outboundMessage()),
    'docs/schemas/agent-typing.json': json(jsonSchemas.agentTyping()),
    'docs/schemas/delivery-status.json': json(jsonSchemas.deliveryStatus()),
    'docs/schemas/customer-typing.json': json(jsonSchemas.customerTyping()),
  };
}
