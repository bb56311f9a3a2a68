import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { AppMetrics } from '../metrics/app-metrics';
import { ExportTargetConfig } from './export-target.types';
import { LocalFolderTransport } from './local-folder.transport';
import { SftpTransport } from './sftp.transport';
import { TargetAddressPolicy } from './target-address-policy';
import { targetPlace } from './target-place';
import { DeliveryFile, DeliveryResult, DeliveryTransport, RemovalResult, TargetPlace } from './transport';

// Picks the transport by the company's target type.
@Injectable()
export class TransportRegistry extends DeliveryTransport implements OnModuleDestroy {
  private readonly local: LocalFolderTransport;
  private readonly sftp: SftpTransport;

  constructor(
    private readonly config: AppConfig,
    addresses: TargetAddressPolicy,
    metrics: AppMetrics,
  ) {
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

  override warm(target: ExportTargetConfig): void {
    if (target.type === 'sftp') this.sftp.warm(target);
  }

  async check(target: ExportTargetConfig, companyId: string): Promise<void> {
    if (target.type === 'sftp') return this.sftp.check(target);
    return this.local.check(companyId);
  }

  async remove(target: ExportTargetConfig, companyId: string, relPaths: string[]): Promise<RemovalResult[]> {
    if (target.type === 'sftp') return this.sftp.remove(target, relPaths);
    return this.local.remove(companyId, relPaths);
  }

  placeOf(target: ExportTargetConfig, companyId: string): TargetPlace {
    return targetPlace(target, companyId, this.config.exportLocalDir);
  }

  async onModuleDestroy(): Promise<void> {
    await this.sftp.close();
  }
}
