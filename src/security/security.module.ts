import { Module } from '@nestjs/common';
import { CryptoService } from './crypto.service';

// Company keys and service keys; sealing and opening of stored secrets and bodies.
@Module({ providers: [CryptoService], exports: [CryptoService] })
export class SecurityModule {}
