import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import { destination, stdTimeFunctions, type DestinationStream, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';
import { redactCardData } from '../common/redact-card-data';
import { AppConfig } from '../config/app-config';
import { logContextFields } from './log-context';

// Paths pino replaces with "[redacted]" wherever a line carries them: credentials in requests and
// handshakes, secrets of export targets, and message bodies. The call sites log identifiers only;
// this is the net under them.
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'req.query.token',
  'handshake.auth',
  'handshake.headers.authorization',
  'handshake.headers.cookie',
  'auth',
  'token',
  '*.token',
  'customerToken',
  '*.customerToken',
  'password',
  '*.password',
  '*.*.password',
  'privateKey',
  '*.privateKey',
  '*.*.privateKey',
  'secret',
  '*.secret',
  'text',
  '*.text',
];

const LEVELS: Record<AppConfig['logLevel'], LevelWithSilent> = { error: 'error', warn: 'warn', log: 'info', debug: 'debug' };

// A token in a query string (socket.io's polling handshake may carry one) never reaches a line.
export function withoutSecretsInQuery(url: string): string {
  return url.replace(/([?&](?:token|access_token|auth)=)[^&#]*/gi, '$1[redacted]');
}

// Card numbers are masked in every line, whatever field or path a client put them in (contract
// section 8: before the first write anywhere, logs included).
export function cardMaskingStream(out: DestinationStream): DestinationStream {
  return { write: (line: string) => out.write(redactCardData(line)) };
}

// nestjs-pino's parameters: JSON lines (or pino-pretty's for a person), one line per HTTP request
// but for the probes, and the redaction above.
export function pinoParams(config: AppConfig): Params {
  const out: DestinationStream =
    config.logFormat === 'pretty'
      ? pretty({
          sync: true,
          colorize: false,
          singleLine: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,instance,context',
          messageFormat: (log, key) => `${typeof log.context === 'string' ? `[${log.context}] ` : ''}${String(log[key])}`,
        })
      : destination({ dest: 1, sync: true });
  const stream = cardMaskingStream(out);
  const probes = /^\/(health|metrics)(\?|$)/;
  return {
    pinoHttp: [
      {
        level: LEVELS[config.logLevel],
        base: { instance: config.instanceId },
        timestamp: stdTimeFunctions.isoTime,
        // chatId, companyId, recordingId... of the socket event or delivery job being handled.
        mixin: logContextFields,
        formatters: { level: (label: string) => ({ level: label }) },
        redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
        // Method, path and status only: no headers, no bodies.
        serializers: {
          req: (req: IncomingMessage & { id?: unknown }) => ({ id: req.id, method: req.method, url: withoutSecretsInQuery(req.url ?? '') }),
          res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
        },
        quietReqLogger: true,
        // The chat a REST call is about (flow and admin routes name it in the path or the query).
        customProps: (req: IncomingMessage) => {
          const chatId = /(?:\/chats\/|[?&]chatId=)([A-Za-z0-9_-]{1,64})(?:[/?&#]|$)/.exec(req.url ?? '')?.[1];
          return chatId ? { chatId } : {};
        },
        autoLogging: { ignore: (req: IncomingMessage) => probes.test(req.url ?? '') },
        // A request's own line names its context like every other line.
        customSuccessObject: (_req: IncomingMessage, _res: ServerResponse, val: Record<string, unknown>) => ({ ...val, context: 'HttpRequest' }),
        customErrorObject: (_req: IncomingMessage, _res: ServerResponse, _err: Error, val: Record<string, unknown>) => ({ ...val, context: 'HttpRequest' }),
        customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
          err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      },
      stream,
    ] as Params['pinoHttp'],
  };
}
