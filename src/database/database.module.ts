import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { EntityList } from './data-source-options';
import { resolveDataSourceOptions } from './resolve-options';
import { serialiseSqlite } from './sqlite-serial';
import { installWriteBehind } from './write-behind';

// The entities come from the composition root (src/wiring/entities.ts): the database layer imports
// no feature.
@Module({})
export class DatabaseModule {
  static forRoot(entities: EntityList): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [AppConfig],
          useFactory: async (config: AppConfig) => ({
            ...(await resolveDataSourceOptions(config, entities)),
            // The embedded SQLite default migrates itself; MySQL is migrated by `npm run migration:run`
            // unless DB_MIGRATE_ON_START says otherwise.
            migrationsRun: config.migrateOnStart,
            // A database still starting beside the service (compose, a pod) is waited for; each
            // attempt that fails is logged, and the last one fails the start (main.ts).
            retryAttempts: config.startConnectAttempts,
            retryDelay: 2000,
            verboseRetryLog: true,
          }),
          // Every caller shares SQLite's one connection: see sqlite-serial.ts. On MySQL a transaction's
          // writes whose results nobody reads ride with its next statement: see write-behind.ts.
          dataSourceFactory: async (options?: DataSourceOptions) =>
            installWriteBehind(serialiseSqlite(new DataSource(options as DataSourceOptions))).initialize(),
        }),
      ],
    };
  }
}
