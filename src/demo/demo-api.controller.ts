import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { DemoFile, DemoOutbox } from './demo-outbox';
import { DemoTokens } from './demo-tokens';
import { DemoFileQueryDto, DemoFilesQueryDto, DemoTokenDto } from './dto/demo.dto';

// The demo pages' helpers: tokens for the portal and the panel, and the delivered files of the
// local export folder. Registered only outside production (see DemoModule).
@ApiExcludeController()
@Controller('demo/api')
export class DemoApiController {
  constructor(
    private readonly tokens: DemoTokens,
    private readonly outbox: DemoOutbox,
  ) {}

  @Post('tokens')
  @HttpCode(200)
  token(@Body() dto: DemoTokenDto): { token: string } {
    return { token: this.tokens.mint(dto) };
  }

  @Get('files')
  async files(@Query() q: DemoFilesQueryDto): Promise<{ files: DemoFile[] }> {
    return { files: await this.outbox.list(q.company) };
  }

  @Get('file')
  async file(@Query() q: DemoFileQueryDto): Promise<{ name: string; content: string }> {
    return { name: q.name, content: await this.outbox.read(q.company, q.name) };
  }
}
