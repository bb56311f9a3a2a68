import { Controller, Get } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { buildAsyncApiDocument } from './asyncapi';

// GET /docs/asyncapi.json: the socket.io events (docs/asyncapi.json is the same document).
@ApiExcludeController()
@Controller('docs')
export class AsyncApiController {
  private readonly document = buildAsyncApiDocument();

  @Get('asyncapi.json')
  asyncApi(): Record<string, unknown> {
    return this.document;
  }
}
