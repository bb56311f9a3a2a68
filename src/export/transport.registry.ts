import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { AppMetrics } from '../metrics/app-metrics';
import { ExportTargetConfig } from './export-target.types';
import { LocalFolderTransport } from './local-folder.transport';
import { SftpTransport } from './sftp.transport';
import { TargetAddressPolicy } from './target-address-policy';
import { DeliveryFile, DeliveryResult, DeliveryTransport } from './transport';

// Picks the transport by the company's target type.
@Injectable()
export class TransportRegistry extends DeliveryTransport implements OnModuleDestroy {
  private readonly local: LocalFolderTransport;
  private readonly sftp: SftpTransport;

  constructor(config: AppConfig, addresses: TargetAddressPolicy, metrics: AppMetrics) {
    super();
    this.local = new LocalFolderTransport(config.exportLocalDir);
    const timed = (operation: string, outcome: string, seconds: number) => metrics.sftpSeconds.observe({ operation, outcome }, seconds);
    this.sftp = new SftpTransport(config.sftpOperationTimeoutMs, config.sftpConnectionsPerTarget, undefined, addresses, timed);
  }

  async deliver(target: ExportTargetConfig, files: DeliveryFile[]): Promise<DeliveryResult[]> {
    if (target.type === 'sftp') return this.sftp.deliver(target, files);
    // One after another, in order (as the SFTP transport does): see DeliveryTransport.
    const out: DeliveryResult[] = [];
    for (const f of files) out.push(await this.local.deliverOne(f));
    return out;
  }

  async check(target: ExportTargetConfig, companyId: string): Promise<void> {
    if (target.type === 'sftp') return this.sftp.check(target);
    return this.local.check(companyId);
  }

  async onModuleDestroy(): Promise<void> {
    await this.sftp.close();
  }
}
