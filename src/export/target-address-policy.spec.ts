import { classifyAddress, TargetAddressPolicy, TargetLookupError, TargetRefusedError } from './target-address-policy';

const none = { names: [], cidrs: [] };

describe('export target address policy', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd00::1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'multicast'],
    ['ff02::1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:0a00:0001', 'private'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2001:db8::1', 'public'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it('always refuses link-local, unspecified and multicast addresses, by address or by name', async () => {
    const p = new TargetAddressPolicy(
      { production: false, allowed: { names: ['meta.example'], cidrs: [{ address: '169.254.0.0', prefix: 16, family: 'ipv4' }] } },
      (h) => Promise.resolve(h === 'meta.example' ? ['169.254.169.254'] : ['::ffff:0.0.0.0']),
    );
    for (const host of ['169.254.169.254', '0.0.0.0', '::', '[::ffff:169.254.169.254]', '224.0.0.1', 'meta.example', 'any.example']) {
      await expect(p.resolve(host)).rejects.toThrow(TargetRefusedError);
      await expect(p.assertAllowed(host)).rejects.toThrow(TargetRefusedError);
    }
  });

  it('allows loopback and private addresses outside production', async () => {
    const p = new TargetAddressPolicy({ production: false, allowed: none }, () => Promise.resolve(['10.0.0.5']));
    await expect(p.resolve('127.0.0.1')).resolves.toEqual(['127.0.0.1']);
    await expect(p.resolve('sftp.internal')).resolves.toEqual(['10.0.0.5']);
  });

  it('in production refuses loopback and private addresses unless the allow-list names the host or its block', async () => {
    const lookup = (h: string) => Promise.resolve(h === 'mixed.example' ? ['8.8.8.8', '10.0.0.1'] : h === 'sftp.internal' ? ['10.0.0.5'] : ['8.8.4.4']);
    const strict = new TargetAddressPolicy({ production: true, allowed: none }, lookup);
    for (const host of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '192.168.0.10', 'sftp.internal', 'mixed.example']) {
      await expect(strict.resolve(host)).rejects.toThrow(TargetRefusedError);
    }
    await expect(strict.resolve('public.example')).resolves.toEqual(['8.8.4.4']);
    const allowed = new TargetAddressPolicy(
      { production: true, allowed: { names: ['sftp.internal'], cidrs: [{ address: '192.168.0.0', prefix: 24, family: 'ipv4' }] } },
      lookup,
    );
    await expect(allowed.resolve('SFTP.internal.')).resolves.toEqual(['10.0.0.5']);
    await expect(allowed.resolve('192.168.0.10')).resolves.toEqual(['192.168.0.10']);
    await expect(allowed.resolve('::ffff:192.168.0.10')).resolves.toEqual(['::ffff:192.168.0.10']);
    await expect(allowed.resolve('192.168.1.10')).rejects.toThrow(TargetRefusedError);
  });

  it('a name that does not resolve is a lookup failure at connection time, and accepted when saved', async () => {
    const p = new TargetAddressPolicy({ production: true, allowed: none }, () => Promise.reject(new Error('ENOTFOUND')));
    await expect(p.resolve('nowhere.example')).rejects.toThrow(TargetLookupError);
    await expect(p.assertAllowed('nowhere.example')).resolves.toBeUndefined();
  });
});
