import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { DemoApiController } from './demo-api.controller';
import { DemoOutbox } from './demo-outbox';
import { DemoPagesController } from './demo-pages.controller';
import { DemoTokens } from './demo-tokens';

// The demo at /demo/: on with DEMO_PAGES (default: on outside production). Its API (tokens minted
// with the service's secret, the local export folder's files) is never registered with
// NODE_ENV=production, whatever DEMO_PAGES says: there the pages ask for tokens to be pasted.
@Module({})
export class DemoModule {
  static forRoot(config: AppConfig): DynamicModule {
    if (!config.demoPages) return { module: DemoModule };
    const api = config.nodeEnv !== 'production';
    return {
      module: DemoModule,
      controllers: api ? [DemoPagesController, DemoApiController] : [DemoPagesController],
      providers: api ? [DemoTokens, DemoOutbox] : [],
    };
  }
}
