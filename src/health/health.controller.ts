import { Controller, Get, HttpException, Res } from '@nestjs/common';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { GracefulShutdown } from '../common/graceful-shutdown';
import { schemaIsCurrent } from '../database/schema-version';

@Controller('health')
export class HealthController {
  constructor(
    private readonly db: DataSource,
    private readonly shutdown: GracefulShutdown,
  ) {}

  // Ready when the database answers with this build's schema (its newest migration applied). Not ready from the moment a graceful stop begins, so that a
  // load balancer (or a readiness probe) stops sending before the instance goes away; the body
  // says why: {statusCode: 503, code: "unavailable", status: "shutting_down", message, since}.
  @Get()
  async health(@Res({ passthrough: true }) res: Response) {
    const since = this.shutdown.startedAt;
    if (since) {
      res.status(503).setHeader('connection', 'close');
      return { statusCode: 503, code: 'unavailable', status: 'shutting_down', message: 'this instance is shutting down', since: since.toISOString() };
    }
    let current: boolean;
    try {
      current = await schemaIsCurrent(this.db);
    } catch {
      // Unreachable, or no schema at all (a database never migrated, or dropped).
      throw new HttpException({ statusCode: 503, code: 'unavailable', message: 'database is unavailable' }, 503);
    }
    if (!current) {
      throw new HttpException({ statusCode: 503, code: 'unavailable', message: "the database's schema is behind this build: run the migrations" }, 503);
    }
    return { status: 'ok', database: 'up' };
  }
}
