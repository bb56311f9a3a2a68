import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildAsyncApiDocument } from '../socket/asyncapi';

// npm run asyncapi: writes docs/asyncapi.json from the event maps and the payload schemas.
const out = resolve(process.argv[2] ?? 'docs/asyncapi.json');
writeFileSync(out, JSON.stringify(buildAsyncApiDocument(), null, 2) + '\n');
console.log(`wrote ${out}`);
