import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AuthGuard, CurrentPrincipal, Roles } from '../auth/auth.guard';
import type { Principal } from '../auth/principal';
import { ErasureAcceptedDto, ErasureStatusDto } from './dto/erasure-view.dto';
import { RequestErasureDto } from './dto/erasure.dto';
import { ErasureService } from './erasure.service';

// Contract section 10: erasures by customer id or chat id.
@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/erasures')
@UseGuards(AuthGuard)
@Roles('admin')
export class ErasureController {
  constructor(private readonly erasures: ErasureService) {}

  @Post()
  @HttpCode(202)
  @ApiAcceptedResponse({ type: ErasureAcceptedDto, description: 'accepted; the erasure runs in the background (status running)' })
  @ApiNotFoundResponse({ description: 'chatId: no such chat of the company' })
  request(@CurrentPrincipal() p: Principal, @Body() dto: RequestErasureDto) {
    return this.erasures.request(p, dto);
  }
  @Get(':erasureId')
  @ApiOkResponse({ type: ErasureStatusDto })
  @ApiNotFoundResponse({ description: 'no such erasure of the company' })
  get(@CurrentPrincipal() p: Principal, @Param('erasureId') id: string) {
    return this.erasures.get(p, id);
  }
  @Post(':erasureId/retry')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: ErasureAcceptedDto, description: 'a partial erasure runs again (running); a running or done one is answered as it is' })
  @ApiNotFoundResponse({ description: 'no such erasure of the company' })
  retry(@CurrentPrincipal() p: Principal, @Param('erasureId') id: string) {
    return this.erasures.retry(p, id);
  }
}
