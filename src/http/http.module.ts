import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AuditModule } from '../audit/audit.module';
import { HttpExceptionFilter } from './http-exception.filter';

// The REST error mapper, for every controller of the app; it audits refused access.
@Module({ imports: [AuditModule], providers: [{ provide: APP_FILTER, useClass: HttpExceptionFilter }] })
export class HttpModule {}
