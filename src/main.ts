import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { RedisIoAdapter } from './socket/redis-io.adapter';
import { buildOpenApiDocument } from './openapi';
import { appValidationPipe } from './common/validation.pipe';
import { AppConfig, ConfigError, loadConfig } from './config/app-config';

async function bootstrap(): Promise<void> {
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
  // Lines logged while the app is built wait for the structured logger (LoggingModule, LOG_LEVEL and
  // LOG_FORMAT), which then writes every line, Nest's own included.
  const app = await NestFactory.create(AppModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(PinoNestLogger));
  const logger = new Logger('Bootstrap');
  app.useGlobalPipes(appValidationPipe());
  app.enableShutdownHooks();
  app.enableCors({ origin: true });
  if (config.redisUrl) {
    const adapter = new RedisIoAdapter(app, config.redisUrl);
    await adapter.connect();
    app.useWebSocketAdapter(adapter);
  }
  if (config.jwt.isDevDefault) {
    logger.warn('No JWT_SECRET or JWT_PUBLIC_KEY: using the built-in development secret. Never run like this in production.');
  }
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), { jsonDocumentUrl: 'docs/openapi.json' });
  await app.listen(config.port, '0.0.0.0');
  const where =
    config.database.type === 'sqlite' ? `SQLite ${config.database.path}` : `MySQL ${config.database.host}:${config.database.port}/${config.database.database}`;
  logger.log(`listening on port ${config.port} (database: ${where}, local exports: ${config.exportLocalDir})`);
}

void bootstrap();
