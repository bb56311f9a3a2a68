import 'reflect-metadata';
import type { IncomingMessage, Server } from 'node:http';
import { INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger as PinoNestLogger, PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { RedisIoAdapter } from './socket/redis-io.adapter';
import { buildOpenApiDocument } from './openapi';
import { appValidationPipe } from './common/validation.pipe';
import { AppConfig, ConfigError, loadConfig } from './config/app-config';
import { GracefulShutdown } from './common/graceful-shutdown';
import { restDrain } from './http/rest-drain';
import { isJson, jsonBodiesOnly } from './http/json-bodies-only';
import { answerParserErrorsWithJson } from './http/client-errors';
import { pinoParams } from './logging/pino-options';
import { databaseLabel, LISTEN, redisLabel, startFailure, startStep } from './start-failure';

function main(): void {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`configuration error: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  // The structured logger (LOG_LEVEL and LOG_FORMAT) writes from the first line on: the database's
  // connection attempts while the app is built, and a start that fails, are lines like any other.
  const params = pinoParams(config);
  const startLogger = new PinoNestLogger(new PinoLogger(params), params);
  bootstrap(config, startLogger).catch((err: unknown) => {
    const { msg, cause } = startFailure(err, config);
    startLogger.fatal({ msg, cause, phase: 'start' }, 'Bootstrap');
    process.exit(1);
  });
}

async function bootstrap(config: AppConfig, startLogger: PinoNestLogger): Promise<void> {
  // abortOnError false: a module that fails to build rejects here (main's one line, exit 1) instead
  // of Nest aborting the process with a core dump.
  const app = await startStep(`building the app on its database (${databaseLabel(config)})`, () =>
    NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), { logger: startLogger, abortOnError: false }),
  );
  app.useLogger(app.get(PinoNestLogger));
  const logger = new Logger('Bootstrap');
  app.useGlobalPipes(appValidationPipe());
  const shutdown = app.get(GracefulShutdown);
  app.use(restDrain(shutdown));
  app.use(jsonBodiesOnly());
  // Express's JSON parser (Nest's default limit of 100 kB) for every type jsonBodiesOnly lets
  // through: by default it read application/json alone, and a `+json` body reached the route empty.
  app.useBodyParser('json', { type: (req: IncomingMessage) => isJson(req.headers['content-type']) });
  app.enableCors({ origin: true });
  if (config.redisUrl) {
    const adapter = new RedisIoAdapter(app, config.redisUrl);
    await startStep(`connecting to Redis at ${redisLabel(config.redisUrl)}`, () => adapter.connect(config.startConnectAttempts * 2000));
    app.useWebSocketAdapter(adapter);
  }
  if (config.jwt.isDevDefault) {
    logger.warn('No JWT_SECRET or JWT_PUBLIC_KEY: using the built-in development secret. Never run like this in production.');
  }
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), { jsonDocumentUrl: 'docs/openapi.json' });
  answerParserErrorsWithJson(app.getHttpServer() as Server);
  await startStep(LISTEN, () => app.listen(config.port, '0.0.0.0'));
  logger.log(`listening on port ${config.port} (database: ${databaseLabel(config)}, local exports: ${config.exportLocalDir})`);
  stopOnSignals(app, shutdown, config.shutdownDeadlineMs);
}

// SIGTERM or SIGINT: the graceful stop (src/common/graceful-shutdown.ts lists its steps), then the
// app closes (database, Redis) and the process exits 0. SHUTDOWN_DEADLINE_MS bounds it all: then
// the process exits 1 and what is left goes to the crash-safe paths (leases lapse, clients resend).
// A second signal during the stop exits at once.
function stopOnSignals(app: INestApplication, shutdown: GracefulShutdown, deadlineMs: number): void {
  const logger = new Logger('Shutdown');
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ msg: `${signal} again during the graceful stop: exiting now`, phase: 'abort' });
      process.exit(1);
    }
    stopping = true;
    const started = Date.now();
    const deadlineAt = started + deadlineMs;
    setTimeout(() => {
      logger.error({ msg: `shutdown deadline of ${deadlineMs} ms reached: exiting, the rest is left to crash recovery`, phase: 'deadline' });
      process.exit(1);
    }, deadlineMs);
    // The deadline's last part is kept for closing the connections and the app.
    const reserve = Math.min(5000, Math.max(500, Math.floor(deadlineMs / 5)));
    try {
      await shutdown.drain(signal, deadlineAt - reserve, deadlineAt - Math.floor(reserve / 2));
      // The listener took requests until now so that polling clients could fetch their answers.
      const server = app.getHttpServer() as Server;
      server.close();
      server.closeAllConnections();
      logger.log({ msg: 'closing the database and Redis connections', phase: 'close' });
      await app.close();
    } catch (err) {
      logger.error({ msg: `graceful stop failed: ${(err as Error).stack ?? String(err)}`, phase: 'close' });
      process.exit(1);
    }
    logger.log({ msg: `stopped in ${Date.now() - started} ms`, phase: 'exit' });
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, (s: NodeJS.Signals) => void stop(s));
}

main();
