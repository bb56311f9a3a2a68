import { Controller, Get, HttpException } from '@nestjs/common';
import { DataSource } from 'typeorm';

@Controller('health')
export class HealthController {
  constructor(private readonly db: DataSource) {}

  // Ready when the database answers.
  @Get()
  async health() {
    try {
      await this.db.query('SELECT 1');
      return { status: 'ok', database: 'up' };
    } catch {
      throw new HttpException({ statusCode: 503, code: 'unavailable', message: 'database is unavailable' }, 503);
    }
  }
}
