import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AuthGuard, CurrentPrincipal, Roles } from '../auth/auth.guard';
import type { Principal } from '../auth/principal';
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

  @Post() @HttpCode(202) request(@CurrentPrincipal() p: Principal, @Body() dto: RequestErasureDto) {
    return this.erasures.request(p, dto);
  }
  @Get(':erasureId') get(@CurrentPrincipal() p: Principal, @Param('erasureId') id: string) {
    return this.erasures.get(p, id);
  }
  @Post(':erasureId/retry') @HttpCode(202) retry(@CurrentPrincipal() p: Principal, @Param('erasureId') id: string) {
    return this.erasures.retry(p, id);
  }
}
