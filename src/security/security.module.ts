import { Module } from '@nestjs/common';
import { CryptoService } from './crypto.service';
import { SigningKeysController } from './signing-keys.controller';
import { SigningKeyService } from './signing-keys.service';

// Company keys and service keys; sealing and opening of stored secrets and bodies; the manifest
// signing key and the public list of signing keys.
@Module({ providers: [CryptoService, SigningKeyService], controllers: [SigningKeysController], exports: [CryptoService, SigningKeyService] })
export class SecurityModule {}
