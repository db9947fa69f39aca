/**
 * JSON logs through nestjs-pino, with redaction. Structured fields (`conversationId`, `agentId`,
 * `channel`, `correlationId`) go in the object argument; the message string stays constant.
 */
import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';
import { REDACT_PATHS, REDACTED, scrubDeep } from './redaction';

export interface LoggingOptions {
  service: string;
  level: string;
}

export function pinoOptions(options: LoggingOptions) {
  return {
    level: options.level,
    base: { service: options.service },
    messageKey: 'msg',
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    formatters: {
      level: (label: string) => ({ level: label }),
      log: (object: Record<string, unknown>) => scrubDeep(object) as Record<string, unknown>,
    },
  };
}

@Module({})
export class LoggingModule {
  static forRoot(options: LoggingOptions): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            ...pinoOptions(options),
            autoLogging: {
              ignore: (req: IncomingMessage) => req.url?.startsWith('/health') === true || req.url === '/metrics',
            },
            serializers: {
              req: (req: { method?: string; url?: string; id?: unknown }) => ({
                id: req.id,
                method: req.method,
                url: req.url?.split('?')[0],
              }),
            },
          },
        }),
      ],
      exports: [LoggerModule],
    };
  }
}
