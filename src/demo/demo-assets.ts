import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

// The files the demo serves, by name: its pages (src/demo/public), the client library as built
// (client/dist) and socket.io-client's browser ESM build. Nothing else is reachable.
function projectRoot(): string {
  let d = __dirname;
  while (!existsSync(join(d, 'package.json'))) {
    const up = resolve(d, '..');
    if (up === d) return process.cwd();
    d = up;
  }
  return d;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export interface DemoAsset {
  path: string;
  type: string;
}

const PAGES = ['index.html', 'widget.html', 'portal.html', 'demo.css', 'panel.js', 'widget.js', 'portal.js', 'demo-common.js'];
const LIBRARY = [
  'index.js',
  'agent-client.js',
  'customer-client.js',
  'client-error.js',
  'ordered-inbox.js',
  'protocol.js',
  'send-queue.js',
  'typed-emitter.js',
  'webchat-connection.js',
];

export function demoAssets(): Map<string, DemoAsset> {
  const root = projectRoot();
  const assets = new Map<string, DemoAsset>();
  const add = (url: string, path: string) => assets.set(url, { path, type: TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream' });
  for (const p of PAGES) add(p, join(root, 'src', 'demo', 'public', p));
  for (const f of LIBRARY) add(`lib/${f}`, join(root, 'client', 'dist', 'client', 'src', f));
  let socketIo: string;
  try {
    socketIo = join(dirname(require.resolve('socket.io-client/package.json', { paths: [root] })), 'dist', 'socket.io.esm.min.js');
  } catch {
    socketIo = join(root, 'node_modules', 'socket.io-client', 'dist', 'socket.io.esm.min.js');
  }
  add('vendor/socket.io-client.js', socketIo);
  return assets;
}
