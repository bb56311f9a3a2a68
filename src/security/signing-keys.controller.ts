import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { SigningKeyService } from './signing-keys.service';

class SigningKeyDto {
  @ApiProperty({ example: '3b1f0c9a5d2e7f41', description: 'first 16 hex of the SHA-256 of the public key (SPKI DER)' }) keyId!: string;
  @ApiProperty({ enum: ['Ed25519'] }) algorithm!: 'Ed25519';
  @ApiProperty({ description: 'SPKI public key, PEM' }) publicKeyPem!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

class SigningKeysDto {
  @ApiProperty({ type: [SigningKeyDto], description: 'oldest first' }) keys!: SigningKeyDto[];
}

// Public keys are public: no credential, so that a recipient can verify a drop with nothing but
// the files and this address (docs/integrity.md).
@ApiTags('integrity')
@Controller('v1/signing-keys')
export class SigningKeysController {
  constructor(private readonly keys: SigningKeyService) {}

  @Get()
  @Header('Cache-Control', 'public, max-age=60')
  @ApiOkResponse({ type: SigningKeysDto, description: 'Every key manifests were signed with, current and earlier. No credential.' })
  async list(): Promise<SigningKeysDto> {
    return { keys: await this.keys.list() };
  }
}
