import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { SigningKeyService } from './signing-keys.service';

// Public keys are public: no credential, so that a recipient can verify a drop with nothing but
// the files and this address (docs/integrity.md).
@ApiTags('integrity')
@Controller('v1/signing-keys')
export class SigningKeysController {
  constructor(private readonly keys: SigningKeyService) {}

  @Get()
  @Header('Cache-Control', 'public, max-age=60')
  @ApiOkResponse({
    description: 'Every key manifests were signed with, current and earlier: {keys: [{keyId, algorithm: "Ed25519", publicKeyPem, createdAt}]}. No credential.',
  })
  async list() {
    return { keys: await this.keys.list() };
  }
}
