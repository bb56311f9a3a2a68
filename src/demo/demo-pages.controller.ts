import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { existsSync } from 'node:fs';
import { AppException } from '../common/app.exception';
import { DemoAsset, demoAssets } from './demo-assets';

// GET /demo/: the widget, the portal and the panel, built on the client library.
@ApiExcludeController()
@Controller('demo')
export class DemoPagesController {
  private readonly assets: Map<string, DemoAsset> = demoAssets();

  @Get()
  index(@Res() res: Response): void {
    // /demo without the slash: the pages' relative links need it.
    if (!res.req.originalUrl.split('?')[0].endsWith('/')) return res.redirect(301, '/demo/');
    this.send(res, 'index.html');
  }

  @Get('lib/:file')
  library(@Param('file') file: string, @Res() res: Response): void {
    this.send(res, `lib/${file}`);
  }

  @Get('vendor/:file')
  vendor(@Param('file') file: string, @Res() res: Response): void {
    this.send(res, `vendor/${file}`);
  }

  @Get(':file')
  page(@Param('file') file: string, @Res() res: Response): void {
    this.send(res, file);
  }

  private send(res: Response, name: string): void {
    const asset = this.assets.get(name);
    if (!asset) throw AppException.notFound(`no demo file ${name.slice(0, 100)}`);
    if (!existsSync(asset.path)) throw AppException.notFound(`${name} is not built: run npm run build`);
    res.setHeader('content-type', asset.type);
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(asset.path);
  }
}
