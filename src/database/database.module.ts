import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { resolveDataSourceOptions } from './resolve-options';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: async (config: AppConfig) => ({
        ...(await resolveDataSourceOptions(config)),
        // The embedded SQLite default migrates itself; MySQL is migrated by `npm run migration:run`
        // unless DB_MIGRATE_ON_START says otherwise.
        migrationsRun: config.migrateOnStart,
        retryAttempts: 30,
        retryDelay: 2000,
      }),
    }),
  ],
})
export class DatabaseModule {}
