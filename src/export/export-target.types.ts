export interface SftpTargetConfig {
  type: 'sftp';
  host: string;
  port: number;
  username: string;
  password?: string;
  privateKey?: string;
  remoteDir: string;
  hostKeySha256: string;
}

export interface LocalTargetConfig {
  type: 'local';
}

export type ExportTargetConfig = SftpTargetConfig | LocalTargetConfig;

// What the API shows: secrets never leave, only whether they are set.
export function publicView(t: ExportTargetConfig): Record<string, unknown> {
  if (t.type === 'local') return { type: 'local' };
  const { password, privateKey, ...rest } = t;
  return { ...rest, hasPassword: !!password, hasPrivateKey: !!privateKey };
}
