import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';

// Exactly one of the two (checked by the service, which names both fields).
export class RequestErasureDto {
  @ApiPropertyOptional({ description: "every chat of the company with this customer id (the flow's customer.id)" })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  customerId?: string;

  @ApiPropertyOptional({ description: 'one chat' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  chatId?: string;
}
