import { Module } from '@nestjs/common';
import { CompanyDirectory } from './company-directory';
import { CompanyService } from './company.service';

@Module({ providers: [CompanyService, CompanyDirectory], exports: [CompanyService, CompanyDirectory] })
export class CompanyModule {}
