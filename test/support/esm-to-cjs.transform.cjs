// Jest on Node 20 cannot require() the ESM-only NestJS 12 packages (Node itself can, jest's
// module system cannot before Node 24.9). This transformer turns those packages' ESM into CommonJS
// for the test runtime only; the service itself runs them natively through require(esm).
const ts = require('typescript');
const crypto = require('node:crypto');

module.exports = {
  getCacheKey(source, filename) {
    return crypto.createHash('sha1').update('v1').update(filename).update(source).digest('hex');
  },
  process(source, filename) {
    const patched = source.replace(/import\.meta\.url/g, "require('node:url').pathToFileURL(__filename).href");
    const out = ts.transpileModule(patched, {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        allowJs: true,
        esModuleInterop: true,
        sourceMap: false,
      },
    });
    return { code: out.outputText };
  },
};
