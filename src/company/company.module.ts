import { Module } from '@nestjs/common';
import { CompanyDirectory } from './company-directory';
import { CompanySettingsService } from './company-settings.service';
import { CompanyService } from './company.service';
import { TranscriptModule } from '../transcript/transcript.module';

@Module({
  imports: [TranscriptModule],
  providers: [CompanyService, CompanyDirectory, CompanySettingsService],
  exports: [CompanyService, CompanyDirectory, CompanySettingsService],
})
export class CompanyModule {}
